#version 330 core
// Lean replacement for pyrender's mesh.vert: the head is never scaled, so normals are
// transformed by the model matrix itself (no per-vertex matrix inverse).
layout(location = 0) in vec3 position;
layout(location = NORMAL_LOC) in vec3 normal;
#ifdef COLOR_0_LOC
layout(location = COLOR_0_LOC) in vec4 color_0;
#endif
layout(location = INST_M_LOC) in mat4 inst_m;

uniform mat4 M;
uniform mat4 V;
uniform mat4 P;

out vec3 frag_position;
out vec3 frag_normal;
out vec4 albedo_gloss;

void main()
{
    mat4 model = M * inst_m;
    vec4 world = model * vec4(position, 1.0);
    gl_Position = P * V * world;
    frag_position = world.xyz;
    frag_normal = mat3(model) * normal;
#ifdef COLOR_0_LOC
    albedo_gloss = color_0;
#else
    albedo_gloss = vec4(0.8, 0.8, 0.8, 0.1);
#endif
}
