// common.glsl — shared by every compute shader.
// Elementwise ops run one invocation per element over a 2-D grid of 1-D workgroups
// (x up to 65535 groups, then y), so any length up to 2^32 fits the dispatch limits.
#ifndef VC_COMMON_GLSL
#define VC_COMMON_GLSL

// Flat element index of this invocation for a grid made by vc_grid_1d().
// A macro, not a function: glslang compiles a function defined before the shader's
// `layout(local_size_x_id = 0) in;` with gl_WorkGroupSize = (1, 1, 1), which made every
// row of the grid past y = 0 overlap the first. Expanded in main(), it sees the spec constant.
#define flat_index() (gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x)

#endif
