/*
 * Bench: a compute mix as a compiler generates it, for scripts/bench-vs-qemu.sh.
 *
 * Unlike the other bench programs (hand-written loops in loops.S), this is plain C
 * built with FP/SIMD enabled (`-O2 -ftree-vectorize`, no -mgeneral-regs-only), so
 * GCC 12 auto-vectorises parts of it into AdvSIMD. The runtime around it is built
 * as for every other program, with RT_FPSIMD so that entry.S sets CPACR_EL1.FPEN
 * before main. The work runs with the MMU on (4K granule, RAM identity-mapped as
 * normal write-back memory) and the data and instruction caches on. ITERS rounds of:
 *
 *   sha256  SHA-256 of a 1 MiB pseudo-random buffer (message schedule and rounds
 *           in plain C);
 *   qsort   a quicksort of 128 Ki pseudo-random 32-bit integers;
 *   matmul  MM_REPS products of 64x64 double-precision matrices;
 *   scan    SCAN_REPS times, counting 4 byte values and a 4-byte pattern in the
 *           buffer (5 scans of 1 MiB).
 *
 * Every part prints a checksum and checks its results, each round, against values
 * known in advance or computed here another way: the buffer's digest and pattern
 * count are constants computed on the host (see the comment at BUF_SHA256), the
 * SHA-256 code also hashes two FIPS 180-2 test vectors; the sort must be ordered
 * and a permutation of its input (order-independent hash); each product is checked
 * exactly (the entries are multiples of 1/4, so every sum is exact) against
 * integer arithmetic, A(Bx) = Cx for two vectors x; the byte counts against a
 * histogram and a naive search made once. The exit status is 0 only if all match.
 */
#include "rt.h"

#ifndef ITERS
#define ITERS 25
#endif
#ifndef MM_REPS
#define MM_REPS 4
#endif
#ifndef SCAN_REPS
#define SCAN_REPS 2
#endif

#define BUF_SIZE (1u << 20)
#define SORT_N (1u << 17)
#define MN 64

/* ---- Pseudo-random numbers: Marsaglia's xorshift32 (13, 17, 5). */

static u32 xorshift32(u32 *s)
{
    u32 x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

/* ---- SHA-256 (FIPS 180-4) */

static const u32 sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

struct sha256 {
    u32 h[8];
    u64 len; /* bytes hashed so far */
    u32 fill;
    u8 buf[64];
};

static u32 ror32(u32 x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static void sha256_blocks(u32 h[8], const u8 *p, size_t nblocks)
{
    for (; nblocks; nblocks--, p += 64) {
        u32 w[64];
        for (int t = 0; t < 16; t++)
            w[t] = (u32)p[4 * t] << 24 | (u32)p[4 * t + 1] << 16 | (u32)p[4 * t + 2] << 8 |
                   p[4 * t + 3];
        for (int t = 16; t < 64; t++) {
            u32 s0 = ror32(w[t - 15], 7) ^ ror32(w[t - 15], 18) ^ (w[t - 15] >> 3);
            u32 s1 = ror32(w[t - 2], 17) ^ ror32(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        u32 a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
        for (int t = 0; t < 64; t++) {
            u32 t1 = k + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) +
                     sha256_k[t] + w[t];
            u32 t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            k = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
        h[5] += f;
        h[6] += g;
        h[7] += k;
    }
}

static void sha256_init(struct sha256 *s)
{
    static const u32 iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                              0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    for (int i = 0; i < 8; i++)
        s->h[i] = iv[i];
    s->len = 0;
    s->fill = 0;
}

static void sha256_update(struct sha256 *s, const u8 *p, size_t n)
{
    s->len += n;
    if (s->fill) {
        while (n && s->fill < 64) {
            s->buf[s->fill++] = *p++;
            n--;
        }
        if (s->fill < 64)
            return;
        sha256_blocks(s->h, s->buf, 1);
        s->fill = 0;
    }
    sha256_blocks(s->h, p, n / 64);
    p += n & ~(size_t)63;
    n &= 63;
    while (n--)
        s->buf[s->fill++] = *p++;
}

static void sha256_final(struct sha256 *s, u8 out[32])
{
    u64 bits = s->len * 8;
    u8 pad = 0x80;
    sha256_update(s, &pad, 1);
    pad = 0;
    while (s->fill != 56)
        sha256_update(s, &pad, 1);
    u8 len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (u8)(bits >> (56 - 8 * i));
    sha256_update(s, len, 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (u8)(s->h[i] >> 24);
        out[4 * i + 1] = (u8)(s->h[i] >> 16);
        out[4 * i + 2] = (u8)(s->h[i] >> 8);
        out[4 * i + 3] = (u8)s->h[i];
    }
}

static void sha256(const void *p, size_t n, u8 out[32])
{
    struct sha256 s;
    sha256_init(&s);
    sha256_update(&s, p, n);
    sha256_final(&s, out);
}

static int parse_hex(const char *hex, u8 *out, unsigned n)
{
    for (unsigned i = 0; i < 2 * n; i++) {
        char c = hex[i];
        unsigned v = c >= '0' && c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
        if (v > 15)
            return 0;
        out[i / 2] = (u8)(i & 1 ? out[i / 2] | v : v << 4);
    }
    return 1;
}

static int digest_is(const u8 got[32], const char *hex)
{
    u8 want[32];
    if (!parse_hex(hex, want, 32))
        return 0;
    unsigned diff = 0;
    for (int i = 0; i < 32; i++)
        diff |= got[i] ^ want[i];
    return diff == 0;
}

static void print_digest(const char *what, const u8 d[32])
{
    printf("%s", what);
    for (int i = 0; i < 32; i++)
        printf("%02x", d[i]);
    printf("\n");
}

/* ---- The buffer: BUF_SIZE bytes of xorshift32 output (seed BUF_SEED, each value
 * stored little-endian), with PATTERN written at every PATTERN_STRIDE-th byte from
 * PATTERN_OFFSET. Its SHA-256 and the number of PATTERN occurrences in it, computed
 * on the host with
 *   python3 -c 'import struct,sys
 *   s=0x2545f491; b=bytearray()
 *   for _ in range(1<<18):
 *       s^=(s<<13)&0xffffffff; s^=s>>17; s^=(s<<5)&0xffffffff; b+=struct.pack("<I",s)
 *   for o in range(100,len(b)-3,4099): b[o:o+4]=b"aRm8"
 *   sys.stdout.buffer.write(b)' | tee buf.bin | sha256sum
 *   python3 -c 'print(open("buf.bin","rb").read().count(b"aRm8"))'
 * (the pattern cannot overlap itself, so Python's non-overlapping count is the
 * count of all occurrences). */
#define BUF_SEED 0x2545f491u
#define PATTERN "aRm8"
#define PATTERN_OFFSET 100
#define PATTERN_STRIDE 4099
#define BUF_SHA256 "357031c1e05743b536702230dccebb6dc31e5fe592c63e02fe54442e371cb8da"
#define BUF_PATTERNS 256

static u8 buf[BUF_SIZE] __attribute__((aligned(64)));

static void make_buffer(void)
{
    u32 s = BUF_SEED;
    u32 *w = (u32 *)buf;
    for (u32 i = 0; i < BUF_SIZE / 4; i++)
        w[i] = xorshift32(&s);
    for (u32 o = PATTERN_OFFSET; o + 4 <= BUF_SIZE; o += PATTERN_STRIDE)
        for (int i = 0; i < 4; i++)
            buf[o + i] = (u8)PATTERN[i];
}

/* ---- Quicksort: median-of-three Hoare partitions, insertion sort below 16. */

static void insertion_sort(u32 *a, long n)
{
    for (long i = 1; i < n; i++) {
        u32 v = a[i];
        long j = i;
        for (; j > 0 && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

static void swap32(u32 *a, u32 *b)
{
    u32 t = *a;
    *a = *b;
    *b = t;
}

static void quicksort(u32 *a, long n)
{
    while (n > 16) {
        long mid = n / 2;
        if (a[mid] < a[0])
            swap32(&a[mid], &a[0]);
        if (a[n - 1] < a[0])
            swap32(&a[n - 1], &a[0]);
        if (a[n - 1] < a[mid])
            swap32(&a[n - 1], &a[mid]);
        u32 pivot = a[mid];
        long i = -1, j = n;
        for (;;) {
            do
                i++;
            while (a[i] < pivot);
            do
                j--;
            while (a[j] > pivot);
            if (i >= j)
                break;
            swap32(&a[i], &a[j]);
        }
        /* [0, j] <= pivot <= [j + 1, n): recurse into the smaller side. */
        long left = j + 1, right = n - left;
        if (left < right) {
            quicksort(a, left);
            a += left;
            n = right;
        } else {
            quicksort(a + left, right);
            n = left;
        }
    }
    insertion_sort(a, n);
}

/* An order-independent hash of a multiset of 32-bit values. */
static u64 multiset_hash(const u32 *a, u32 n)
{
    u64 s = 0;
    for (u32 i = 0; i < n; i++) {
        u64 x = a[i];
        s += (x * 0x9e3779b1u) ^ (x << 17) ^ (x * x);
    }
    return s;
}

static u32 count_descents(const u32 *a, u32 n)
{
    u32 bad = 0;
    for (u32 i = 0; i + 1 < n; i++)
        bad += a[i] > a[i + 1];
    return bad;
}

static u32 sort_data[SORT_N];

/* ---- Matrix product: C = A B, 64x64 doubles, i-k-j order (vectorised over j). */

static double ma[MN][MN], mb[MN][MN], mc[MN][MN];
static i64 ia[MN][MN], ib[MN][MN];

static void matmul(double c[MN][MN], const double a[MN][MN], const double b[MN][MN])
{
    for (int i = 0; i < MN; i++) {
        for (int j = 0; j < MN; j++)
            c[i][j] = a[i][0] * b[0][j];
        for (int k = 1; k < MN; k++) {
            double aik = a[i][k];
            for (int j = 0; j < MN; j++)
                c[i][j] += aik * b[k][j];
        }
    }
}

/* Fills A and B with multiples of 1/4 in [-4, 4] (and ia, ib with 4 times them). */
static void matrices(u32 seed)
{
    u32 s = seed;
    for (int i = 0; i < MN; i++)
        for (int j = 0; j < MN; j++) {
            ia[i][j] = (i64)(xorshift32(&s) % 33) - 16;
            ib[i][j] = (i64)(xorshift32(&s) % 33) - 16;
            ma[i][j] = (double)ia[i][j] * 0.25;
            mb[i][j] = (double)ib[i][j] * 0.25;
        }
}

/* Checks 16 C x == (4A)((4B) x) exactly for x; returns the number of rows that differ. */
static unsigned freivalds(const i64 x[MN])
{
    i64 y[MN];
    unsigned bad = 0;
    for (int k = 0; k < MN; k++) {
        i64 v = 0;
        for (int j = 0; j < MN; j++)
            v += ib[k][j] * x[j];
        y[k] = v;
    }
    for (int i = 0; i < MN; i++) {
        i64 want = 0, got = 0;
        for (int k = 0; k < MN; k++)
            want += ia[i][k] * y[k];
        for (int j = 0; j < MN; j++)
            got += (i64)(mc[i][j] * 16.0) * x[j];
        bad += got != want;
    }
    return bad;
}

/* ---- Byte scans */

static u32 count_byte(const u8 *p, u32 n, u8 c)
{
    u32 k = 0;
    for (u32 i = 0; i < n; i++)
        k += p[i] == c;
    return k;
}

static u32 count_pattern(const u8 *p, u32 n, const char *pat)
{
    u8 p0 = (u8)pat[0], p1 = (u8)pat[1], p2 = (u8)pat[2], p3 = (u8)pat[3];
    u32 k = 0;
    for (u32 i = 0; i + 3 < n; i++)
        k += (p[i] == p0) & (p[i + 1] == p1) & (p[i + 2] == p2) & (p[i + 3] == p3);
    return k;
}

/* The references: a histogram and a naive search with early exits. */
static u32 hist[256];

static u32 search_naive(const u8 *p, u32 n, const char *pat)
{
    u32 k = 0;
    for (u32 i = 0; i + 3 < n; i++) {
        int j = 0;
        while (j < 4 && p[i + j] == (u8)pat[j])
            j++;
        k += j == 4;
    }
    return k;
}

/* ---- Timing (CNTVCT_EL0), for the per-part lines only. */

static u64 ms_since(u64 t0)
{
    u64 f = read_sysreg(cntfrq_el0);
    return f ? (counter() - t0) * 1000 / f : 0;
}

int main(void)
{
    static struct pt pt;
    pt_pool_reset();
    pt_init(&pt, 12, 39);
    pt_map_standard(&pt, 0);
    mmu_enable(&pt, 0, 0); /* also SCTLR_EL1.C and .I */
    printf("compute: ITERS=%u, MMU and caches on, SCTLR_EL1=0x%lx\n", ITERS,
           read_sysreg(sctlr_el1));
    CHECK_EQ(1, "SCTLR_EL1.M/C/I", read_sysreg(sctlr_el1) & (SCTLR_M | SCTLR_C | SCTLR_I),
             SCTLR_M | SCTLR_C | SCTLR_I);

    /* Known answers first: FIPS 180-2 one- and two-block messages. */
    u8 d[32];
    sha256("abc", 3, d);
    CHECK(2, "SHA-256(\"abc\")",
          digest_is(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    static const char two[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256(two, sizeof(two) - 1, d);
    CHECK(3, "SHA-256(\"abcdbcde...nopq\")",
          digest_is(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));

    make_buffer();
    for (u32 i = 0; i < BUF_SIZE; i++)
        hist[buf[i]]++;
    u32 naive = search_naive(buf, BUF_SIZE, PATTERN);
    CHECK_EQ(4, "naive pattern count", naive, BUF_PATTERNS);

    u64 t_sha = 0, t_sort = 0, t_mm = 0, t_scan = 0, t0;
    u64 sort_sum = 0, mm_sum = 0, scan_sum = 0;
    unsigned sha_bad = 0, sort_bad = 0, mm_bad = 0, scan_bad = 0;
    for (u32 r = 0; r < ITERS; r++) {
        /* (1) SHA-256 of the buffer. */
        t0 = counter();
        sha256(buf, BUF_SIZE, d);
        t_sha += ms_since(t0);
        if (!digest_is(d, BUF_SHA256)) {
            if (!sha_bad++)
                print_digest("sha256: wrong digest ", d);
        }

        /* (2) Quicksort. */
        t0 = counter();
        u32 s = 0x9e3779b9u ^ (r * 0x85ebca6bu);
        for (u32 i = 0; i < SORT_N; i++)
            sort_data[i] = xorshift32(&s);
        u64 before = multiset_hash(sort_data, SORT_N);
        quicksort(sort_data, SORT_N);
        u64 after = multiset_hash(sort_data, SORT_N);
        u32 descents = count_descents(sort_data, SORT_N);
        for (u32 i = 0; i < SORT_N; i++)
            sort_sum += (u64)sort_data[i] * (i + 1);
        t_sort += ms_since(t0);
        if (before != after || descents) {
            if (!sort_bad++)
                printf("qsort: round %u: %u descents, hash 0x%lx before, 0x%lx after\n", r,
                       descents, before, after);
        }

        /* (3) Matrix products. */
        for (u32 m = 0; m < MM_REPS; m++) {
            t0 = counter();
            matrices(0x1234567u + r * MM_REPS + m);
            matmul(mc, (const double(*)[MN])ma, (const double(*)[MN])mb);
            for (int i = 0; i < MN; i++)
                for (int j = 0; j < MN; j++)
                    mm_sum += (u64)(i64)(mc[i][j] * 16.0) * (u64)(i * MN + j + 1);
            t_mm += ms_since(t0);
            i64 x1[MN], x2[MN];
            u32 xs = r * 977 + m + 1;
            for (int j = 0; j < MN; j++) {
                x1[j] = j + 1;
                x2[j] = (i64)(xorshift32(&xs) & 0xffff) - 0x8000;
            }
            unsigned bad = freivalds(x1) + freivalds(x2);
            if (bad && !mm_bad++)
                printf("matmul: round %u product %u: %u rows differ\n", r, m, bad);
        }

        /* (4) Byte scans. */
        t0 = counter();
        for (u32 q = 0; q < SCAN_REPS; q++) {
            for (u32 v = 0; v < 4; v++) {
                u8 c = (u8)((r * SCAN_REPS + q) * 61 + v * 64 + 7);
                u32 n = count_byte(buf, BUF_SIZE, c);
                scan_sum += n;
                if (n != hist[c] && !scan_bad++)
                    printf("scan: byte 0x%x counted %u times, histogram %u\n", c, n, hist[c]);
            }
            u32 n = count_pattern(buf, BUF_SIZE, PATTERN);
            scan_sum += n;
            if (n != BUF_PATTERNS && !scan_bad++)
                printf("scan: pattern counted %u times, expected %u\n", n, BUF_PATTERNS);
        }
        t_scan += ms_since(t0);
    }

    print_digest("sha256: ", d);
    printf("sha256: %u x 1 MiB, %u wrong, %lu ms\n", ITERS, sha_bad, t_sha);
    printf("qsort: %u x %u ints, checksum 0x%lx, %u wrong, %lu ms\n", ITERS, SORT_N, sort_sum,
           sort_bad, t_sort);
    printf("matmul: %u x 64x64 doubles, checksum 0x%lx, %u wrong, %lu ms\n", ITERS * MM_REPS,
           mm_sum, mm_bad, t_mm);
    printf("scan: %u x 1 MiB, checksum 0x%lx, %u wrong, %lu ms\n", ITERS * SCAN_REPS * 5,
           scan_sum, scan_bad, t_scan);
    CHECK_EQ(5, "SHA-256 rounds with a wrong digest", sha_bad, 0);
    CHECK_EQ(6, "sort rounds not sorted or not a permutation", sort_bad, 0);
    CHECK_EQ(7, "matrix products failing Freivalds' check", mm_bad, 0);
    CHECK_EQ(8, "byte scans differing from the histogram / pattern count", scan_bad, 0);
    return finish("compute");
}
