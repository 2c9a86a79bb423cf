// sv39.S - Sv39 virtual memory.
//
// Page tables are built in M-mode; the tests run in S-mode (and U-mode)
// with satp = Sv39.  Covered: translation of 4 KiB pages, 2 MiB and 1 GiB
// superpages, misaligned superpages fault, page faults with the right cause
// (fetch 12 / load 13 / store 15) and mtval/stval = faulting VA (also for a
// non-canonical VA, an invalid root entry, a reserved R=0/W=1 leaf, a
// pointer at level 0, reserved PTE bits 63:54), hardware A/D updates (load
// sets A, store sets A and D, fetch sets A, no update when the access
// faults), U pages from S only with SUM and never executable from S, S
// pages from U, MXR makes execute-only readable, sfence.vma after a PTE
// change, mstatus.MPRV in M-mode (MPP = S / U), a delegated page fault,
// misaligned loads/stores across two virtual pages backed by non-adjacent
// physical pages (and into an unmapped page), a 32-bit instruction split
// across such pages, satp WARL (unsupported modes leave satp unchanged).
#include "common.h"

#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_U 0x10
#define PTE_G 0x20
#define PTE_A 0x40
#define PTE_D 0x80
#define RW    (PTE_V | PTE_R | PTE_W)
#define RWAD  (RW | PTE_A | PTE_D)

#define SATP_SV39 0x8000000000000000

// virtual addresses
#define VA(i)     (0x40000000 + (i) * 0x1000)    /* 4 KiB pages via l0 */
#define VA_2M     0x40200000                     /* 2 MiB page -> PA 0x80400000 */
#define VA_2M_BAD 0x40400000                     /* misaligned 2 MiB leaf */
#define VA_U      0xc0000000                     /* 1 GiB U alias of 0x80000000 */
#define VA_1G_BAD 0x100000000                    /* misaligned 1 GiB leaf */
#define VA_1G     0x140000000                    /* 1 GiB RW (no X) alias of 0x80000000 */
#define PA_2M     0x80400000
#define U_OFF     (VA_U - 0x80000000)
#define G_OFF     (VA_1G - 0x80000000)

// l0 slots
#define P_A      0     /* pg_a RW A D */
#define P_RO     1     /* pg_b R A, D = 0 */
#define P_XO     2     /* xpage X only */
#define P_INV    3     /* invalid */
#define P_CLEAN  4     /* pg_c RW, A = D = 0 */
#define P_NOD    5     /* pg_d RW A, D = 0 */
#define P_USER   6     /* pg_e RW U, A = D = 0 */
#define P_WO     7     /* W only: reserved */
#define P_NX     8     /* pg_a R, not executable */
#define P_PTR    9     /* non-leaf at level 0 */
#define P_F      10    /* pg_f RW */
#define P_G      11    /* pg_g RW (lower PA than pg_f) */
#define P_REMAP  12    /* pg_a, remapped to pg_b by the sfence test */
#define P_OK     13    /* pg_a RW, followed by ... */
#define P_HOLE   14    /* ... an invalid page */
#define P_XA     15    /* xpage R X, A = 0 */
#define P_RSV    16    /* pg_a with a reserved bit (60) set */
#define P_SLO    17    /* strad_lo: code, low half of a split insn at the end */
#define P_SHI    18    /* strad_hi: code, high half at the start (lower PA) */

#define MKPTE(dst, pa, flags) srli dst, pa, 12; slli dst, dst, 10; ori dst, dst, flags
#define SETPTE(table, idx, label, flags) \
    la t0, label; MKPTE(t1, t0, flags); la t2, table; sd t1, (idx) * 8(t2)
#define SETPTE_PA(table, idx, pa, flags) \
    li t0, pa; MKPTE(t1, t0, flags); la t2, table; sd t1, (idx) * 8(t2)
// a0 = flags (low 8 bits) of l0[idx], read in M-mode
#define PTE_FLAGS(idx) la t0, l0; ld a0, (idx) * 8(t0); andi a0, a0, 0xff

// Run code in U-mode at its U alias (VA = PA + U_OFF), then ecall.
#define RUN_UV(...) EXPECT_TRAP(9996f); SET_MPP_U; la EXPECT, 9997f; li TCAUSE, U_OFF; \
    add EXPECT, EXPECT, TCAUSE; li TCAUSE, -1; csrw mepc, EXPECT; mret; 9997: __VA_ARGS__; ecall; 9996:

#define SET_MSTATUS(bits) li t0, bits; csrs mstatus, t0
#define CLR_MSTATUS(bits) li t0, bits; csrc mstatus, t0

TEST_BEGIN

// ------------------------------------------------------------ build the tables
    // markers
    li     t3, 0xaaaaaaaa00000000
    la     t0, pg_a
    sd     t3, 0(t0)
    li     t3, 0xbbbbbbbb00000000
    la     t0, pg_b
    sd     t3, 0(t0)
    li     t3, 0xcccccccc00000000
    la     t0, pg_c
    sd     t3, 0(t0)
    li     t3, 0xdddddddd00000000
    la     t0, pg_d
    sd     t3, 0(t0)
    li     t3, 0xeeeeeeee00000000
    la     t0, pg_e
    sd     t3, 0(t0)
    li     t3, 0x2222222200001238       // in the 2 MiB page
    li     t0, PA_2M + 0x1238
    sd     t3, 0(t0)
    li     t3, 0x0706050403020100       // last bytes of pg_f / first of pg_g
    la     t0, pg_f + 4088
    sd     t3, 0(t0)
    li     t3, 0x0f0e0d0c0b0a0908
    la     t0, pg_g
    sd     t3, 0(t0)

    SETPTE(root, 1, l1, PTE_V)
    SETPTE_PA(root, 2, 0x80000000, RWAD | PTE_X)
    SETPTE_PA(root, 3, 0x80000000, RWAD | PTE_X | PTE_U)
    SETPTE_PA(root, 4, 0x80200000, RWAD)
    SETPTE_PA(root, 5, 0x80000000, RWAD)
    SETPTE(l1, 0, l0, PTE_V)
    SETPTE_PA(l1, 1, PA_2M, RWAD)
    SETPTE_PA(l1, 2, PA_2M + 0x1000, RWAD)

    SETPTE(l0, P_A, pg_a, RWAD)
    SETPTE(l0, P_RO, pg_b, PTE_V | PTE_R | PTE_A)
    SETPTE(l0, P_XO, xpage, PTE_V | PTE_X | PTE_A)
    SETPTE(l0, P_CLEAN, pg_c, RW)
    SETPTE(l0, P_NOD, pg_d, RW | PTE_A)
    SETPTE(l0, P_USER, pg_e, RW | PTE_U)
    SETPTE(l0, P_WO, pg_a, PTE_V | PTE_W | PTE_A | PTE_D)
    SETPTE(l0, P_NX, pg_a, PTE_V | PTE_R | PTE_A)
    SETPTE(l0, P_PTR, l0, PTE_V)
    SETPTE(l0, P_F, pg_f, RWAD)
    SETPTE(l0, P_G, pg_g, RWAD)
    SETPTE(l0, P_REMAP, pg_a, RWAD)
    SETPTE(l0, P_OK, pg_a, RWAD)
    SETPTE(l0, P_XA, xpage, PTE_V | PTE_R | PTE_X)
    SETPTE(l0, P_RSV, pg_a, RWAD)
    li     t3, 1 << 60
    ld     t1, P_RSV * 8(t2)
    or     t1, t1, t3
    sd     t1, P_RSV * 8(t2)
    SETPTE(l0, P_SLO, strad_lo, PTE_V | PTE_R | PTE_X | PTE_A)
    SETPTE(l0, P_SHI, strad_hi, PTE_V | PTE_R | PTE_X | PTE_A)

// ------------------------------------------------------------ satp
SET_TEST(1)
    la     t0, root
    srli   t0, t0, 12
    li     t1, SATP_SV39
    or     s2, t0, t1                   // s2 = our satp value
    csrw   satp, s2
    csrr   a0, satp
    CHECK_REG(a0, s2)
SET_TEST(2)                             // mode 11 (reserved): no change
    li     t0, 0xb000000000000000
    or     t0, t0, s2
    csrw   satp, t0
    csrr   a0, satp
    CHECK_REG(a0, s2)
SET_TEST(3)                             // mode 15 (reserved / custom-less): no change
    li     t0, 0xf000000000001234
    csrw   satp, t0
    csrr   a0, satp
    CHECK_REG(a0, s2)
#ifndef QUIRK_SV57_SUPPORTED
SET_TEST(4)                             // Sv57 (10) is not supported by Rewind
    li     t0, 0xa000000000000000
    or     t0, t0, s2
    csrw   satp, t0
    csrr   a0, satp
    CHECK_REG(a0, s2)
#endif
    csrw   satp, s2
    sfence.vma

// ------------------------------------------------------------ translation
TEST_S(5, a0, 0xaaaaaaaa00000000, li t0, VA(P_A); ld a0, 0(t0))
TEST_S(6, a0, 0xbbbbbbbb00000000, li t0, VA(P_RO); ld a0, 0(t0))
TEST_S(7, a0, 0x2222222200001238, li t0, VA_2M + 0x1238; ld a0, 0(t0))
TEST_S(8, a0, 0xaaaaaaaa00000000, la t0, pg_a; li t1, G_OFF; add t0, t0, t1; ld a0, 0(t0))
SET_TEST(9)                             // stores land in the right physical page
    RUN_S(li t0, VA(P_A); li t1, 0x1111; sd t1, 8(t0))
    CHECK(TCAUSE, CAUSE_ECALL_S)
    la     t0, pg_a
    ld     a0, 8(t0)
    CHECK(a0, 0x1111)
SET_TEST(10)                            // two VAs, one PA
    RUN_S(li t0, VA(P_OK); ld a0, 8(t0))
    CHECK(a0, 0x1111)
TEST_S(11, a0, 0x5a, li t0, VA(P_XO); jalr t0)          // execute-only page runs

// ------------------------------------------------------------ page faults
#define PF_S(n, cause, va, ...) SET_TEST(n); RUN_S(li t0, va; __VA_ARGS__); \
    CHECK(TCAUSE, cause); CHECK_TVAL(va)
PF_S(12, CAUSE_LOAD_PAGE,  VA(P_INV), ld a0, 0(t0))
PF_S(13, CAUSE_STORE_PAGE, VA(P_INV), sd a0, 0(t0))
PF_S(14, CAUSE_FETCH_PAGE, VA(P_INV), jalr t0)
    ld     a0, H_EPC(gp)
    CHECK(a0, VA(P_INV))
PF_S(15, CAUSE_STORE_PAGE, VA(P_RO) + 16, sd a0, 0(t0))
PF_S(16, CAUSE_LOAD_PAGE,  VA(P_WO), ld a0, 0(t0))
PF_S(17, CAUSE_STORE_PAGE, VA(P_WO), sd a0, 0(t0))
PF_S(18, CAUSE_FETCH_PAGE, VA(P_NX), jalr t0)
PF_S(19, CAUSE_LOAD_PAGE,  VA(P_PTR), ld a0, 0(t0))
PF_S(20, CAUSE_LOAD_PAGE,  VA(P_XO) + 8, ld a0, 0(t0))  // X only, MXR = 0
PF_S(21, CAUSE_LOAD_PAGE,  VA_2M_BAD + 0x10, ld a0, 0(t0))
PF_S(22, CAUSE_STORE_PAGE, VA_1G_BAD + 0x2000, sw a0, 0(t0))
PF_S(23, CAUSE_LOAD_PAGE,  0x0000004000000000, lb a0, 0(t0))   // non-canonical
PF_S(24, CAUSE_STORE_PAGE, 0xffffff8000000000, sd a0, 0(t0))   // canonical, root[256] invalid
PF_S(25, CAUSE_LOAD_PAGE,  0x0000000000001000, lw a0, 0(t0))   // root[0] invalid
PF_S(26, CAUSE_FETCH_PAGE, VA_1G + 0x100, jalr t0)             // 1 GiB page without X
PF_S(27, CAUSE_LOAD_PAGE,  VA(P_RSV), ld a0, 0(t0))
SET_TEST(28)                            // the faulting store did not happen
    la     t0, pg_b
    ld     a0, 16(t0)
    CHECK(a0, 0)
    PTE_FLAGS(P_RO)                     // and did not set D
    CHECK(a0, PTE_V | PTE_R | PTE_A)

// ------------------------------------------------------------ A / D bits
SET_TEST(29)
    PTE_FLAGS(P_CLEAN)
    CHECK(a0, RW)
    RUN_S(li t0, VA(P_CLEAN); ld a0, 0(t0))
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK(a0, 0xcccccccc00000000)
    PTE_FLAGS(P_CLEAN)                  // load: A
    CHECK(a0, RW | PTE_A)
SET_TEST(30)
    RUN_S(li t0, VA(P_CLEAN); li t1, 5; sd t1, 8(t0))
    CHECK(TCAUSE, CAUSE_ECALL_S)
    PTE_FLAGS(P_CLEAN)                  // store: D
    CHECK(a0, RWAD)
SET_TEST(31)
    RUN_S(li t0, VA(P_NOD); li t1, 6; sw t1, 8(t0))
    CHECK(TCAUSE, CAUSE_ECALL_S)
    PTE_FLAGS(P_NOD)
    CHECK(a0, RWAD)
SET_TEST(32)                            // a store to a fresh page sets both
    la     t0, l0
    SETPTE(l0, P_CLEAN, pg_c, RW)
    sfence.vma
    RUN_S(li t0, VA(P_CLEAN); sd zero, 16(t0))
    CHECK(TCAUSE, CAUSE_ECALL_S)
    PTE_FLAGS(P_CLEAN)
    CHECK(a0, RWAD)
SET_TEST(33)                            // fetch: A
    PTE_FLAGS(P_XA)
    CHECK(a0, PTE_V | PTE_R | PTE_X)
    RUN_S(li t0, VA(P_XA); jalr t0)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK(a0, 0x5a)
    PTE_FLAGS(P_XA)
    CHECK(a0, PTE_V | PTE_R | PTE_X | PTE_A)
SET_TEST(34)                            // U page from S without SUM: fault, no A
    RUN_S(li t0, VA(P_USER); ld a0, 0(t0))
    CHECK(TCAUSE, CAUSE_LOAD_PAGE)
    CHECK_TVAL(VA(P_USER))
    PTE_FLAGS(P_USER)
    CHECK(a0, RW | PTE_U)
SET_TEST(35)
    RUN_S(li t0, VA(P_USER); sd a0, 0(t0))
    CHECK(TCAUSE, CAUSE_STORE_PAGE)
    PTE_FLAGS(P_USER)
    CHECK(a0, RW | PTE_U)

// ------------------------------------------------------------ SUM / U pages
SET_TEST(36)                            // with SUM: loads and stores work
    SET_MSTATUS(MSTATUS_SUM)
    RUN_S(li t0, VA(P_USER); ld a0, 0(t0))
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK(a0, 0xeeeeeeee00000000)
    PTE_FLAGS(P_USER)
    CHECK(a0, RW | PTE_U | PTE_A)
SET_TEST(37)
    RUN_S(li t0, VA(P_USER); li t1, 0x77; sd t1, 8(t0))
    CHECK(TCAUSE, CAUSE_ECALL_S)
    la     t0, pg_e
    ld     a0, 8(t0)
    CHECK(a0, 0x77)
SET_TEST(38)                            // ... but S never executes U pages
    RUN_S(la t0, xroutine; li t1, U_OFF; add t0, t0, t1; jalr t0)
    CHECK(TCAUSE, CAUSE_FETCH_PAGE)
    la     t0, xroutine
    li     t1, U_OFF
    add    t0, t0, t1
    ld     a0, H_TVAL(gp)
    CHECK_REG(a0, t0)
    CLR_MSTATUS(MSTATUS_SUM)
SET_TEST(39)                            // U-mode: its own pages work
    RUN_UV(li t0, VA(P_USER); ld a0, 8(t0))
    CHECK(TCAUSE, CAUSE_ECALL_U)
    CHECK(a0, 0x77)
SET_TEST(40)                            // U code can load U data through the alias
    RUN_UV(la t0, udata; ld a0, 0(t0))
    CHECK(TCAUSE, CAUSE_ECALL_U)
    CHECK(a0, 0x0123456789abcdef)
SET_TEST(41)                            // U-mode: S pages fault
    RUN_UV(li t0, VA(P_A); ld a0, 0(t0))
    CHECK(TCAUSE, CAUSE_LOAD_PAGE)
    CHECK_TVAL(VA(P_A))
SET_TEST(42)
    RUN_UV(li t0, VA(P_A); jalr t0)
    CHECK(TCAUSE, CAUSE_FETCH_PAGE)
SET_TEST(43)                            // SUM does not matter for U
    SET_MSTATUS(MSTATUS_SUM)
    RUN_UV(li t0, VA(P_A); sd a0, 0(t0))
    CHECK(TCAUSE, CAUSE_STORE_PAGE)
    CLR_MSTATUS(MSTATUS_SUM)

// ------------------------------------------------------------ MXR
SET_TEST(44)
    SET_MSTATUS(MSTATUS_MXR)
    RUN_S(li t0, VA(P_XO); lw a0, 16(t0))
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK(a0, 0x12345678)
SET_TEST(45)                            // MXR does not make it writable
    RUN_S(li t0, VA(P_XO); sw a0, 16(t0))
    CHECK(TCAUSE, CAUSE_STORE_PAGE)
    CLR_MSTATUS(MSTATUS_MXR)

// ------------------------------------------------------------ sfence.vma
SET_TEST(46)
    RUN_S(li t0, VA(P_REMAP); ld a0, 0(t0); \
          la t2, pg_b; MKPTE(t1, t2, RWAD); la t2, l0; sd t1, P_REMAP * 8(t2); \
          sfence.vma; ld a1, 0(t0))
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK(a0, 0xaaaaaaaa00000000)
    CHECK(a1, 0xbbbbbbbb00000000)
SET_TEST(47)                            // address-specific sfence.vma, back to pg_a
    RUN_S(li t0, VA(P_REMAP); ld a0, 0(t0); \
          la t2, pg_a; MKPTE(t1, t2, RWAD); la t2, l0; sd t1, P_REMAP * 8(t2); \
          sfence.vma t0, zero; ld a1, 0(t0))
    CHECK(a0, 0xbbbbbbbb00000000)
    CHECK(a1, 0xaaaaaaaa00000000)
SET_TEST(48)                            // invalidate a PTE: the access faults
    RUN_S(li t0, VA(P_REMAP); ld a0, 0(t0); \
          la t2, l0; sd zero, P_REMAP * 8(t2); sfence.vma; ld a1, 0(t0))
    CHECK(TCAUSE, CAUSE_LOAD_PAGE)
    CHECK_TVAL(VA(P_REMAP))

// ------------------------------------------------------------ MPRV (from M)
SET_TEST(49)
    CLR_MSTATUS(MSTATUS_MPP)
    SET_MSTATUS(MSTATUS_MPRV | MSTATUS_MPP_S)
    li     t0, VA(P_A)
    ld     a0, 0(t0)                    // translated as S
    CLR_MSTATUS(MSTATUS_MPRV)
    CHECK(a0, 0xaaaaaaaa00000000)
SET_TEST(50)
    SET_MSTATUS(MSTATUS_MPRV | MSTATUS_MPP_S)
    li     t0, VA(P_USER)
    EXPECT_TRAP(1f)
    ld     a0, 0(t0)                    // S without SUM: U page faults
    j      fail_notrap
1:  CLR_MSTATUS(MSTATUS_MPRV)
    CHECK(TCAUSE, CAUSE_LOAD_PAGE)
    CHECK_TVAL(VA(P_USER))
SET_TEST(51)
    CLR_MSTATUS(MSTATUS_MPP)
    SET_MSTATUS(MSTATUS_MPRV)           // MPP = U
    li     t0, VA(P_USER)
    li     t1, 0x99
    sd     t1, 16(t0)
    ld     a0, 16(t0)
    CLR_MSTATUS(MSTATUS_MPRV)
    CHECK(a0, 0x99)
    la     t0, pg_e
    ld     a0, 16(t0)
    CHECK(a0, 0x99)
SET_TEST(52)
    CLR_MSTATUS(MSTATUS_MPP)
    SET_MSTATUS(MSTATUS_MPRV)           // MPP = U: S page faults
    li     t0, VA(P_A)
    EXPECT_TRAP(1f)
    sd     a0, 0(t0)
    j      fail_notrap
1:  CLR_MSTATUS(MSTATUS_MPRV)
    CHECK(TCAUSE, CAUSE_STORE_PAGE)
    CHECK_TVAL(VA(P_A))
SET_TEST(53)                            // MPRV with MPP = M: physical
    SET_MSTATUS(MSTATUS_MPRV | MSTATUS_MPP)
    la     t0, pg_a
    ld     a0, 0(t0)
    CLR_MSTATUS(MSTATUS_MPRV)
    CHECK(a0, 0xaaaaaaaa00000000)

// ------------------------------------------------------------ delegated page fault
SET_TEST(54)
    la     t0, trap_s
    csrw   stvec, t0
    li     t0, (1 << CAUSE_LOAD_PAGE) | (1 << CAUSE_STORE_PAGE) | (1 << CAUSE_FETCH_PAGE)
    csrw   medeleg, t0
    RUN_S(li t0, VA(P_INV) + 0x123; 1: lbu a0, 0(t0))
    CHECK(TCAUSE, CAUSE_ECALL_S)
    ld     a0, H_SCAUSE(gp)
    CHECK(a0, CAUSE_LOAD_PAGE)
    ld     a0, H_STVAL(gp)
    CHECK(a0, VA(P_INV) + 0x123)
    ld     a0, H_SEPC(gp)
    la     t0, 1b
    CHECK_REG(a0, t0)
SET_TEST(55)
    RUN_UV(li t0, VA(P_INV); jalr t0)
    CHECK(TCAUSE, CAUSE_ECALL_S)
    ld     a0, H_SCAUSE(gp)
    CHECK(a0, CAUSE_FETCH_PAGE)
    ld     a0, H_STVAL(gp)
    CHECK(a0, VA(P_INV))
    ld     a0, H_SEPC(gp)
    CHECK(a0, VA(P_INV))
    csrw   medeleg, zero

// ------------------------------------------------------------ misaligned across pages
TEST_S(56, a0, 0x0c0b0a0908070605, li t0, VA(P_F) + 4093; ld a0, 0(t0))
TEST_S(57, a0, 0x0000000009080706, li t0, VA(P_F) + 4094; lwu a0, 0(t0))
SET_TEST(58)
    RUN_S(li t0, VA(P_F) + 4090; li t1, 0x8877665544332211; sd t1, 0(t0))
    CHECK(TCAUSE, CAUSE_ECALL_S)
    la     t0, pg_f + 4088
    ld     a0, 0(t0)
    CHECK(a0, 0x6655443322110100)
    la     t0, pg_g
    ld     a0, 0(t0)
    CHECK(a0, 0x0f0e0d0c0b0a8877)
SET_TEST(59)                            // into an unmapped page: load page fault
    RUN_S(li t0, VA(P_HOLE) - 3; ld a0, 0(t0))
    CHECK(TCAUSE, CAUSE_LOAD_PAGE)
    ld     a0, H_TVAL(gp)               // the VA of the access or of its
    li     t0, VA(P_HOLE) - 3           // faulting part: within [va, va+7]
    sub    a0, a0, t0
    li     t0, 8
    bgeu   a0, t0, fail
SET_TEST(60)
    RUN_S(li t0, VA(P_HOLE) - 2; sw a0, 0(t0))
    CHECK(TCAUSE, CAUSE_STORE_PAGE)
    ld     a0, H_TVAL(gp)
    li     t0, VA(P_HOLE) - 2
    sub    a0, a0, t0
    li     t0, 4
    bgeu   a0, t0, fail

// ------------------------------------------------------------ split instruction
SET_TEST(61)
    li     a0, 0x1000
    RUN_S(li t0, VA(P_SLO) + 4094; jr t0)   // addi a0, a0, 0x123 spans the pages
    CHECK(TCAUSE, CAUSE_ECALL_S)
    CHECK(a0, 0x1123)
    ld     a0, H_EPC(gp)
    CHECK(a0, VA(P_SHI) + 2)
SET_TEST(62)                            // second half unmapped: fetch fault
    la     t2, l0
    ld     s3, P_SHI * 8(t2)
    sd     zero, P_SHI * 8(t2)
    sfence.vma
    RUN_S(li t0, VA(P_SLO) + 4094; jr t0)
    CHECK(TCAUSE, CAUSE_FETCH_PAGE)
    ld     a0, H_EPC(gp)
    CHECK(a0, VA(P_SLO) + 4094)
    ld     a0, H_TVAL(gp)               // VA of the instruction or of its
    li     t0, VA(P_SLO) + 4094         // second half
    sub    a0, a0, t0
    li     t0, 4
    bgeu   a0, t0, fail
    la     t2, l0
    sd     s3, P_SHI * 8(t2)
    sfence.vma

    csrw   satp, zero
    sfence.vma
TEST_END

// ------------------------------------------------------------ code pages
    .text
    .balign 4096
xpage:                                  // mapped X-only at VA(P_XO), RX at VA(P_XA)
xroutine:
    .option push
    .option norvc
    li     a0, 0x5a
    ret
    .balign 16
    .word  0x12345678                   // at offset 16: read through MXR
    .option pop

    .balign 4096
strad_hi:                               // mapped at VA(P_SHI), PA below strad_lo
    .hword 0x1235                       // upper half of addi a0, a0, 0x123
    ecall
    j      strad_hi
    .balign 4096
strad_lo:                               // mapped at VA(P_SLO)
    .fill  2047, 2, 0x0001
    .hword 0x0513                       // lower half of 0x12350513

    .data
    .align 3
udata:
    .dword 0x0123456789abcdef

    .bss
    .balign 4096
root:   .space 4096
l1:     .space 4096
l0:     .space 4096
pg_a:   .space 4096
pg_b:   .space 4096
pg_c:   .space 4096
pg_d:   .space 4096
pg_e:   .space 4096
pg_g:   .space 4096
pg_x:   .space 4096                     // gap: pg_g and pg_f are not adjacent
pg_f:   .space 4096
