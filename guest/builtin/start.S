// start.S - entry point of the Rewind built-in guest.
//
// Entered in M-mode at 0x80000000 with a0 = hart id, a1 = DTB address
// (ignored).  Hart 0 sets up a stack, clears .bss and runs main; any other
// hart parks.  When main returns the machine is powered off.
#include "board.h"

    .section .text.init, "ax", @progbits
    .globl _start
_start:
    bnez    a0, park
    la      sp, stack_top
    csrw    mie, zero
    csrw    satp, zero
    la      t0, trap
    csrw    mtvec, t0
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  call    main
    j       poweroff

park:
    wfi
    j       park

// An unexpected trap: say so and power off (nothing here should trap).
    .align 2
trap:
    la      a0, msg_trap
    call    puts
    csrr    a0, mcause
    call    puthex64
    la      a0, msg_epc
    call    puts
    csrr    a0, mepc
    call    puthex64
    la      a0, msg_crlf
    call    puts
    // fall through

    .globl poweroff
poweroff:
    li      t0, FINISHER_BASE
    li      t1, FINISHER_PASS
    sw      t1, 0(t0)
1:  wfi
    j       1b

    .section .rodata
msg_trap:   .asciz "\r\nunexpected trap, mcause="
msg_epc:    .asciz " mepc="
    .globl msg_crlf
msg_crlf:   .asciz "\r\n"

    .bss
    .align 4
stack:
    .space 8192
stack_top:
