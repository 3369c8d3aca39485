// common.cl — prepended to every Loom program.
//
// Conventions: every tensor argument is a pair (pointer, int offset in elements); sizes are int.
// Kernels that read ids from device memory never trust them: an id out of range sets its op's bit
// in the backend's error word (read back at the next synchronize) and the access is skipped. The
// rules are LoomCore's `IDRule` (row: 0 <= id < bound; padded rows: id < bound, negative skipped;
// labels: -1 or 0 <= id < bound; lengths: 0 <= id <= bound), the same the CPU backend checks.
//
// The error word is four ints: the bits of every op that saw a bad id, then the first bad id, its
// bound (as `LoomError.indexOutOfRange` reports it) and the bit of the op that saw it.

#define LOOM_ERR_GATHER                 1
#define LOOM_ERR_SCATTER                2
#define LOOM_ERR_SOFTMAX_LABEL          4
#define LOOM_ERR_UPDATE_ROW             8
#define LOOM_ERR_SAMPLED_SOFTMAX        16
#define LOOM_ERR_LENGTH                 32
#define LOOM_ERR_NEGATIVE_SAMPLING      64
#define LOOM_ERR_WORD2VEC               128
#define LOOM_ERR_EMBEDDING_BAG          256
#define LOOM_ERR_EMBEDDING_BAG_BACKWARD 512
#define LOOM_ERR_SOFTMAX_LABEL_BACKWARD 1024

inline void loom_flag(volatile __global int* err, int bit, int id, int bound) {
    // The first flag since the host last cleared the word records its id; later ones add their bit.
    if (atomic_or(err, bit) == 0) {
        err[1] = id;
        err[2] = bound;
        err[3] = bit;
    }
}

// Float add with no lost updates, on any OpenCL 1.2 device: a compare-and-swap loop on the bits.
inline void atomic_add_f32(volatile __global float* p, float v) {
    union { uint u; float f; } old, upd;
    old.f = *p;
    for (;;) {
        upd.f = old.f + v;
        uint seen = atomic_cmpxchg((volatile __global uint*)p, old.u, upd.u);
        if (seen == old.u) break;
        old.u = seen;
    }
}

// Philox4x32-10 (Salmon et al., Random123). Same as Sources/LoomCore/Philox.swift.
inline uint4 philox4x32_10(uint4 c, uint2 k) {
    for (int r = 0; r < 10; ++r) {
        if (r > 0) { k.x += 0x9E3779B9u; k.y += 0xBB67AE85u; }
        uint hi0 = mul_hi(0xD2511F53u, c.x), lo0 = 0xD2511F53u * c.x;
        uint hi1 = mul_hi(0xCD9E8D57u, c.z), lo1 = 0xCD9E8D57u * c.z;
        c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
}

// Word `index % 4` of block `index / 4` of stream (seed, stream).
inline uint philox_word(ulong index, ulong seed, ulong stream) {
    ulong block = index >> 2;
    uint4 r = philox4x32_10((uint4)((uint)block, (uint)(block >> 32), (uint)stream, (uint)(stream >> 32)),
                            (uint2)((uint)seed, (uint)(seed >> 32)));
    switch ((int)(index & 3)) {
        case 0: return r.x;
        case 1: return r.y;
        case 2: return r.z;
        default: return r.w;
    }
}

// Tree reductions over a power-of-two work-group, in local memory (no warp-size assumptions).
inline float group_sum(__local float* scratch, float v) {
    int lid = get_local_id(0), n = get_local_size(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = n >> 1; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

inline float group_max(__local float* scratch, float v) {
    int lid = get_local_id(0), n = get_local_size(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = n >> 1; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] = fmax(scratch[lid], scratch[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float m = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return m;
}
