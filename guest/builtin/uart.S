// uart.S - polled NS16550A console.
//
// uart_init()            8N1, interrupts off
// putc(a0)               blocking write of one byte
// getc() -> a0           blocking read of one byte
// puts(a0)               NUL-terminated string
// puthex64(a0)           "0x" + 16 hex digits
// puthexn(a0, a1)        a1 hex digits (no prefix)
// putdec(a0)             unsigned decimal
// All follow the standard calling convention.
#include "board.h"

    .text
    .globl uart_init
uart_init:
    li      t0, UART0_BASE
    sb      zero, UART_IER(t0)
    li      t1, 0x03                // 8 data bits, no parity, 1 stop bit
    sb      t1, UART_LCR(t0)
    // (FCR is left alone: changing it would drop input that arrived
    // before we got here.)
    ret

    .globl putc
putc:
    li      t0, UART0_BASE
1:  lbu     t1, UART_LSR(t0)
    andi    t1, t1, UART_LSR_THRE
    beqz    t1, 1b
    sb      a0, UART_THR(t0)
    ret

    .globl getc
getc:
    li      t0, UART0_BASE
1:  lbu     t1, UART_LSR(t0)
    andi    t1, t1, UART_LSR_DR
    beqz    t1, 1b
    lbu     a0, UART_RBR(t0)
    ret

    .globl puts
puts:
    addi    sp, sp, -16
    sd      ra, 8(sp)
    sd      s0, 0(sp)
    mv      s0, a0
1:  lbu     a0, 0(s0)
    beqz    a0, 2f
    call    putc
    addi    s0, s0, 1
    j       1b
2:  ld      ra, 8(sp)
    ld      s0, 0(sp)
    addi    sp, sp, 16
    ret

    .globl puthex64
puthex64:
    addi    sp, sp, -16
    sd      ra, 8(sp)
    sd      s0, 0(sp)
    mv      s0, a0
    li      a0, '0'
    call    putc
    li      a0, 'x'
    call    putc
    mv      a0, s0
    li      a1, 16
    call    puthexn
    ld      ra, 8(sp)
    ld      s0, 0(sp)
    addi    sp, sp, 16
    ret

    .globl puthexn
puthexn:
    addi    sp, sp, -32
    sd      ra, 24(sp)
    sd      s0, 16(sp)
    sd      s1, 8(sp)
    mv      s0, a0
    slli    s1, a1, 2               // bit position of the top digit + 4
1:  addi    s1, s1, -4
    bltz    s1, 2f
    srl     a0, s0, s1
    andi    a0, a0, 15
    la      t0, hexdigits
    add     t0, t0, a0
    lbu     a0, 0(t0)
    call    putc
    j       1b
2:  ld      ra, 24(sp)
    ld      s0, 16(sp)
    ld      s1, 8(sp)
    addi    sp, sp, 32
    ret

    .globl putdec
putdec:
    addi    sp, sp, -48
    sd      ra, 40(sp)
    addi    a1, sp, 32              // digits are built backwards from sp+32
    sb      zero, 0(a1)
    li      a2, 10
1:  remu    a3, a0, a2
    divu    a0, a0, a2
    addi    a3, a3, '0'
    addi    a1, a1, -1
    sb      a3, 0(a1)
    bnez    a0, 1b
    mv      a0, a1
    call    puts
    ld      ra, 40(sp)
    addi    sp, sp, 48
    ret

    .section .rodata
hexdigits:
    .ascii "0123456789abcdef"
