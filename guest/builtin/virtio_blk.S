// virtio_blk.S - minimal polled virtio-blk driver (virtio-mmio version 2,
// virtio 1.x split virtqueue with 8 descriptors, one request at a time).
//
// blk_probe() -> a0      scan the 8 virtio-mmio slots, initialise the first
//                        modern block device; a0 = its base or 0.  Fills in
//                        blk_base, blk_capacity, blk_flags.
// blk_request(a0 = type, a1 = sector) -> a0
//                        type BLK_T_IN (read sector into blk_buf),
//                        BLK_T_OUT (write blk_buf), BLK_T_FLUSH; returns the
//                        device status byte (0 = OK) or 0x100 on timeout.
#include "board.h"

// virtio-mmio registers
#define VMMIO_MAGIC          0x000
#define VMMIO_VERSION        0x004
#define VMMIO_DEVICE_ID      0x008
#define VMMIO_DEV_FEATURES   0x010
#define VMMIO_DEV_FEAT_SEL   0x014
#define VMMIO_DRV_FEATURES   0x020
#define VMMIO_DRV_FEAT_SEL   0x024
#define VMMIO_QUEUE_SEL      0x030
#define VMMIO_QUEUE_NUM_MAX  0x034
#define VMMIO_QUEUE_NUM      0x038
#define VMMIO_QUEUE_READY    0x044
#define VMMIO_QUEUE_NOTIFY   0x050
#define VMMIO_INT_STATUS     0x060
#define VMMIO_INT_ACK        0x064
#define VMMIO_STATUS         0x070
#define VMMIO_QUEUE_DESC_LO  0x080
#define VMMIO_QUEUE_DESC_HI  0x084
#define VMMIO_QUEUE_AVAIL_LO 0x090
#define VMMIO_QUEUE_AVAIL_HI 0x094
#define VMMIO_QUEUE_USED_LO  0x0a0
#define VMMIO_QUEUE_USED_HI  0x0a4
#define VMMIO_CONFIG_GEN     0x0fc
#define VMMIO_CONFIG         0x100   /* virtio_blk_config: le64 capacity first */

#define VIRTIO_MAGIC         0x74726976   /* "virt" */
#define VIRTIO_ID_BLOCK      2

// device status bits
#define ST_ACKNOWLEDGE       1
#define ST_DRIVER            2
#define ST_DRIVER_OK         4
#define ST_FEATURES_OK       8
#define ST_FAILED            0x80

// feature bits
#define BLK_F_RO             (1 << 5)
#define BLK_F_FLUSH          (1 << 9)
#define F_VERSION_1_HI       (1 << 0)     /* bit 32: bit 0 of the high word */

// descriptor flags
#define VIRTQ_DESC_F_NEXT    1
#define VIRTQ_DESC_F_WRITE   2
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

#define QSIZE                8
#define TIMEOUT              50000000

    .text
// ------------------------------------------------------------------ probe
    .globl blk_probe
blk_probe:
    addi    sp, sp, -32
    sd      ra, 24(sp)
    sd      s0, 16(sp)
    sd      s1, 8(sp)
    li      s0, VIRTIO_MMIO_BASE
    li      s1, VIRTIO_MMIO_SLOTS
1:  lw      t0, VMMIO_MAGIC(s0)
    li      t1, VIRTIO_MAGIC
    bne     t0, t1, 3f
    lw      t0, VMMIO_DEVICE_ID(s0)
    li      t1, VIRTIO_ID_BLOCK
    bne     t0, t1, 3f
    lw      t0, VMMIO_VERSION(s0)
    li      t1, 2
    beq     t0, t1, 2f
    la      a0, msg_legacy          // version 1: legacy interface, not handled
    call    puts
    mv      a0, s0
    li      a1, 8
    call    puthexn
    la      a0, msg_legacy2
    call    puts
    j       3f
2:  mv      a0, s0
    call    blk_init
    beqz    a0, 3f
    mv      a0, s0
    j       4f
3:  li      t0, VIRTIO_MMIO_STRIDE
    add     s0, s0, t0
    addi    s1, s1, -1
    bnez    s1, 1b
    li      a0, 0
4:  la      t0, blk_base
    sd      a0, 0(t0)
    ld      ra, 24(sp)
    ld      s0, 16(sp)
    ld      s1, 8(sp)
    addi    sp, sp, 32
    ret

// ------------------------------------------------------------------ init
// blk_init(a0 = base) -> a0 = 1 ok / 0 failed (device marked FAILED)
blk_init:
    mv      a5, a0
    sw      zero, VMMIO_STATUS(a5)          // reset
    li      t2, TIMEOUT
1:  lw      t0, VMMIO_STATUS(a5)            // wait for the reset to finish
    beqz    t0, 2f
    addi    t2, t2, -1
    bnez    t2, 1b
    j       blk_init_fail
2:  li      t0, ST_ACKNOWLEDGE
    sw      t0, VMMIO_STATUS(a5)
    li      t0, ST_ACKNOWLEDGE | ST_DRIVER
    sw      t0, VMMIO_STATUS(a5)

    // features: need VERSION_1; take FLUSH and RO when offered
    li      t0, 1
    sw      t0, VMMIO_DEV_FEAT_SEL(a5)
    lw      t1, VMMIO_DEV_FEATURES(a5)
    andi    t1, t1, F_VERSION_1_HI
    beqz    t1, blk_init_fail
    sw      zero, VMMIO_DEV_FEAT_SEL(a5)
    lw      t1, VMMIO_DEV_FEATURES(a5)
    li      t0, BLK_F_FLUSH | BLK_F_RO
    and     t1, t1, t0
    sw      zero, VMMIO_DRV_FEAT_SEL(a5)
    sw      t1, VMMIO_DRV_FEATURES(a5)
    li      t0, 1
    sw      t0, VMMIO_DRV_FEAT_SEL(a5)
    li      t0, F_VERSION_1_HI
    sw      t0, VMMIO_DRV_FEATURES(a5)
    li      t2, 0                           // remember what we took
    li      t0, BLK_F_FLUSH
    and     t0, t1, t0
    beqz    t0, 3f
    ori     t2, t2, BLKF_FLUSH
3:  andi    t0, t1, BLK_F_RO
    beqz    t0, 4f
    ori     t2, t2, BLKF_RO
4:  la      t0, blk_flags
    sd      t2, 0(t0)
    li      t0, ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK
    sw      t0, VMMIO_STATUS(a5)
    lw      t0, VMMIO_STATUS(a5)
    andi    t0, t0, ST_FEATURES_OK
    beqz    t0, blk_init_fail

    // virtqueue 0
    sw      zero, VMMIO_QUEUE_SEL(a5)
    lw      t0, VMMIO_QUEUE_READY(a5)
    bnez    t0, blk_init_fail
    lw      t0, VMMIO_QUEUE_NUM_MAX(a5)
    li      t1, QSIZE
    bltu    t0, t1, blk_init_fail           // (0 = no such queue)
    sw      t1, VMMIO_QUEUE_NUM(a5)
    la      t0, vq_desc
    sw      t0, VMMIO_QUEUE_DESC_LO(a5)
    srli    t0, t0, 32
    sw      t0, VMMIO_QUEUE_DESC_HI(a5)
    la      t0, vq_avail
    li      t1, VIRTQ_AVAIL_F_NO_INTERRUPT
    sh      t1, 0(t0)
    sh      zero, 2(t0)
    sw      t0, VMMIO_QUEUE_AVAIL_LO(a5)
    srli    t0, t0, 32
    sw      t0, VMMIO_QUEUE_AVAIL_HI(a5)
    la      t0, vq_used
    sw      zero, 0(t0)
    sw      t0, VMMIO_QUEUE_USED_LO(a5)
    srli    t0, t0, 32
    sw      t0, VMMIO_QUEUE_USED_HI(a5)
    la      t0, vq_last_used
    sd      zero, 0(t0)
    fence   rw, rw
    li      t0, 1
    sw      t0, VMMIO_QUEUE_READY(a5)
    li      t0, ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK
    sw      t0, VMMIO_STATUS(a5)

    // capacity (le64, read consistently via the config generation)
5:  lw      t0, VMMIO_CONFIG_GEN(a5)
    lwu     t1, VMMIO_CONFIG + 0(a5)
    lwu     t2, VMMIO_CONFIG + 4(a5)
    lw      t3, VMMIO_CONFIG_GEN(a5)
    bne     t0, t3, 5b
    slli    t2, t2, 32
    or      t1, t1, t2
    la      t0, blk_capacity
    sd      t1, 0(t0)
    li      a0, 1
    ret

blk_init_fail:
    li      t0, ST_FAILED
    sw      t0, VMMIO_STATUS(a5)
    li      a0, 0
    ret

// ------------------------------------------------------------------ request
    .globl blk_request
blk_request:
    la      a5, blk_base
    ld      a5, 0(a5)
    li      a2, 0x100
    beqz    a5, 9f

    la      t0, blk_hdr                     // struct virtio_blk_req header
    sw      a0, 0(t0)                       //   le32 type
    sw      zero, 4(t0)                     //   le32 reserved
    sd      a1, 8(t0)                       //   le64 sector
    la      t1, blk_status
    li      t2, 0xff
    sb      t2, 0(t1)

    la      a3, vq_desc
    // desc[0]: header, device-readable
    sd      t0, 0(a3)
    li      t2, 16
    sw      t2, 8(a3)
    li      t2, VIRTQ_DESC_F_NEXT
    sh      t2, 12(a3)
    li      t2, 1
    sh      t2, 14(a3)
    li      t2, BLK_T_FLUSH
    bne     a0, t2, 1f
    li      t2, 2                           // flush: no data descriptor
    sh      t2, 14(a3)
    j       2f
1:  // desc[1]: the 512-byte buffer (device-writable for reads)
    la      t2, blk_buf
    sd      t2, 16(a3)
    li      t2, 512
    sw      t2, 24(a3)
    li      t2, VIRTQ_DESC_F_NEXT
    bnez    a0, 3f
    ori     t2, t2, VIRTQ_DESC_F_WRITE
3:  sh      t2, 28(a3)
    li      t2, 2
    sh      t2, 30(a3)
2:  // desc[2]: status byte, device-writable
    sd      t1, 32(a3)
    li      t2, 1
    sw      t2, 40(a3)
    li      t2, VIRTQ_DESC_F_WRITE
    sh      t2, 44(a3)
    sh      zero, 46(a3)

    // publish head 0 in the available ring
    la      t0, vq_avail
    lhu     t2, 2(t0)                       // avail->idx
    andi    t3, t2, QSIZE - 1
    slli    t3, t3, 1
    add     t3, t3, t0
    sh      zero, 4(t3)                     // ring[idx % QSIZE] = 0
    fence   rw, rw                          // descriptors before idx
    addi    t2, t2, 1
    sh      t2, 2(t0)
    fence   rw, rw                          // idx before the notify
    sw      zero, VMMIO_QUEUE_NOTIFY(a5)

    // poll the used ring
    la      t0, vq_used
    la      t1, vq_last_used
    ld      t3, 0(t1)
    li      t4, TIMEOUT
4:  lhu     t2, 2(t0)                       // used->idx
    bne     t2, t3, 5f
    addi    t4, t4, -1
    bnez    t4, 4b
    li      a2, 0x100                       // timeout
    j       9f
5:  fence   rw, rw
    addi    t3, t3, 1
    li      t2, 0xffff
    and     t3, t3, t2
    sd      t3, 0(t1)
    lw      t2, VMMIO_INT_STATUS(a5)        // tidy: acknowledge the interrupt
    sw      t2, VMMIO_INT_ACK(a5)
    la      t1, blk_status
    lbu     a2, 0(t1)
9:  mv      a0, a2
    ret

    .section .rodata
msg_legacy:  .asciz "virtio-blk at 0x"
msg_legacy2: .asciz " is legacy (version 1): skipped\r\n"

    .data
    .align 3
    .globl blk_base, blk_capacity, blk_flags
blk_base:     .dword 0
blk_capacity: .dword 0
blk_flags:    .dword 0

    .bss
    .align 12
vq_desc:      .space 16 * QSIZE             // 16-byte aligned
vq_avail:     .space 4 + 2 * QSIZE + 2      // 2-byte aligned
    .align 2
vq_used:      .space 4 + 8 * QSIZE + 2      // 4-byte aligned
    .align 3
vq_last_used: .space 8
blk_hdr:      .space 16
    .globl blk_buf
    .align 4
blk_buf:      .space 512
blk_status:   .space 8
