// optim_tiles.glsl — the tile table shared by the optimizer shaders (sgd, lars_norms, adamw).
//
// src/ops/optim.c cuts every parameter tensor into tiles of at most a few thousand floats
// and runs one workgroup per tile. A tile gives the element offsets of its first float
// in each bound window (weights, gradient, state slots) and, for LARS, which tiles make
// up its parameter so that the update can sum that parameter's partial norms.
#ifndef VC_OPTIM_TILES_GLSL
#define VC_OPTIM_TILES_GLSL

struct VcOptimTile {
    uvec4 off;  // element offsets of the tile's first float: w, g, state0, state1
    uvec4 meta; // count (floats in this tile), flags, first tile of the parameter, tiles of the parameter
};

const uint TILE_NO_DECAY = 1u; // meta.y bit: no weight decay, no LARS adaptation

// Index of this workgroup's tile: groups run over a 2-D grid (x up to 65535, then y).
uint tile_index(uint base) {
    return base + gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
}

#endif
