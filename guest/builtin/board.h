/* board.h - addresses of the QEMU-virt compatible board Rewind emulates. */
#ifndef BUILTIN_BOARD_H
#define BUILTIN_BOARD_H

#define UART0_BASE      0x10000000  /* NS16550A, byte registers */
#define UART_RBR        0           /* receive buffer (read) */
#define UART_THR        0           /* transmit holding (write) */
#define UART_IER        1
#define UART_FCR        2
#define UART_LCR        3
#define UART_LSR        5
#define UART_LSR_DR     0x01        /* data ready */
#define UART_LSR_THRE   0x20        /* transmit holding register empty */

#define VIRTIO_MMIO_BASE   0x10001000
#define VIRTIO_MMIO_STRIDE 0x1000
#define VIRTIO_MMIO_SLOTS  8

#define FINISHER_BASE   0x100000
#define FINISHER_PASS   0x5555      /* power off */

/* virtio-blk request types (virtio 1.2, 5.2.6) */
#define BLK_T_IN        0
#define BLK_T_OUT       1
#define BLK_T_FLUSH     4

/* blk_flags bits set by blk_probe */
#define BLKF_FLUSH      1           /* VIRTIO_BLK_F_FLUSH negotiated */
#define BLKF_RO         2           /* VIRTIO_BLK_F_RO: read-only disk */

#endif
