"""ExpCLIP: text, images and speech in one embedding space with 52 ARKit blendshape expressions."""
