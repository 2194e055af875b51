#version 330 core
// Skin-friendly shading for the head, cheaper than pyrender's PBR shader on a CPU rasteriser:
// per-vertex albedo (rgb) and gloss (a), wrap-around diffuse with a warmer terminator (a cheap
// stand-in for subsurface scattering), Blinn-Phong highlights, ambient, gamma 2.2 output.
struct DirectionalLight {
    vec3 color;
    float intensity;
    vec3 direction;
};

uniform DirectionalLight directional_lights[MAX_DIRECTIONAL_LIGHTS];
uniform int n_directional_lights;
uniform vec3 cam_pos;
uniform vec3 ambient_light;

in vec3 frag_position;
in vec3 frag_normal;
in vec4 albedo_gloss;

out vec4 frag_color;

const vec3 WRAP = vec3(0.40, 0.25, 0.20);

void main()
{
    vec3 albedo = albedo_gloss.rgb;
    float gloss = albedo_gloss.a;
    vec3 n = normalize(frag_normal);
    if (!gl_FrontFacing) {
        n = -n;
    }
    vec3 v = normalize(cam_pos - frag_position);
    float shininess = mix(8.0, 90.0, gloss);
    vec3 colour = albedo * ambient_light;
    for (int i = 0; i < n_directional_lights; i++) {
        vec3 l = -normalize(directional_lights[i].direction);
        vec3 radiance = directional_lights[i].color * directional_lights[i].intensity;
        float ndl = dot(n, l);
        vec3 diffuse = clamp((vec3(ndl) + WRAP) / (1.0 + WRAP), 0.0, 1.0);
        vec3 h = normalize(l + v);
        float highlight = gloss * pow(max(dot(n, h), 0.0), shininess) * step(0.0, ndl);
        colour += radiance * (albedo * diffuse + vec3(0.35 * highlight));
    }
    frag_color = vec4(pow(clamp(colour, 0.0, 1.0), vec3(1.0 / 2.2)), 1.0);
}
