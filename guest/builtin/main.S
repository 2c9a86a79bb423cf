// main.S - what the Rewind built-in guest does.
//
//   1. banner + what was found (virtio-blk capacity or "no disk")
//   2. with a disk: print the first 16 bytes of sector 0, increment the
//      boot counter (little-endian u64 at bytes 0..7 of sector 1), write it
//      back, FLUSH if negotiated, print "boot count N"
//   3. a line-editing echo loop on the UART: "help", "disk", "quit" (or
//      Ctrl-D) power off, anything else is answered with "you typed: ...".
#include "board.h"

#define LINE_MAX 120
#define CTRL_D   0x04

    .text
    .globl main
main:
    addi    sp, sp, -48
    sd      ra, 40(sp)
    sd      s0, 32(sp)
    sd      s1, 24(sp)
    sd      s2, 16(sp)

    call    uart_init
    la      a0, msg_banner
    call    puts

    call    blk_probe
    bnez    a0, 1f
    la      a0, msg_nodisk
    call    puts
    j       echo_loop

1:  // "disk: virtio-blk at 0x10008000, N sectors (K KiB)"
    mv      s0, a0
    la      a0, msg_disk1
    call    puts
    mv      a0, s0
    li      a1, 8
    call    puthexn
    la      a0, msg_disk2
    call    puts
    la      t0, blk_capacity
    ld      a0, 0(t0)
    call    putdec
    la      a0, msg_disk3
    call    puts
    la      t0, blk_capacity
    ld      a0, 0(t0)
    srli    a0, a0, 1
    call    putdec
    la      a0, msg_disk4
    call    puts
    la      t0, blk_flags
    ld      t0, 0(t0)
    andi    t0, t0, BLKF_RO
    beqz    t0, 2f
    la      a0, msg_ro
    call    puts
2:  la      a0, msg_crlf
    call    puts

    // sector 0: first 16 bytes
    la      t0, blk_capacity
    ld      t0, 0(t0)
    beqz    t0, echo_loop
    li      a0, BLK_T_IN
    li      a1, 0
    call    blk_request
    bnez    a0, io_error
    la      a0, msg_sector0
    call    puts
    la      s1, blk_buf
    addi    s2, s1, 16
3:  li      a0, ' '
    call    putc
    lbu     a0, 0(s1)
    li      a1, 2
    call    puthexn
    addi    s1, s1, 1
    bltu    s1, s2, 3b
    la      a0, msg_crlf
    call    puts

    // boot counter in sector 1
    la      t0, blk_capacity
    ld      t0, 0(t0)
    li      t1, 2
    bltu    t0, t1, echo_loop
    li      a0, BLK_T_IN
    li      a1, 1
    call    blk_request
    bnez    a0, io_error
    la      t0, blk_buf
    ld      t1, 0(t0)
    addi    t1, t1, 1
    sd      t1, 0(t0)
    la      t0, boot_count
    sd      t1, 0(t0)
    la      t0, blk_flags
    ld      s1, 0(t0)
    andi    t0, s1, BLKF_RO
    bnez    t0, 4f
    li      a0, BLK_T_OUT
    li      a1, 1
    call    blk_request
    bnez    a0, io_error
    andi    t0, s1, BLKF_FLUSH
    beqz    t0, 4f
    li      a0, BLK_T_FLUSH
    li      a1, 0
    call    blk_request
    bnez    a0, io_error
4:  call    print_count
    j       echo_loop

io_error:
    mv      s0, a0
    la      a0, msg_ioerr
    call    puts
    mv      a0, s0
    call    putdec
    la      a0, msg_crlf
    call    puts
    la      t0, blk_base                // give up on the disk
    sd      zero, 0(t0)

// ------------------------------------------------------------------ echo loop
// s0 = line length, s1 = previous character
echo_loop:
    li      s1, 0
prompt:
    la      a0, msg_prompt
    call    puts
    li      s0, 0
next_char:
    call    getc
    mv      t2, s1
    mv      s1, a0
    li      t0, CTRL_D
    beq     a0, t0, ctrl_d
    li      t0, '\r'
    beq     a0, t0, end_line
    li      t0, '\n'
    bne     a0, t0, 1f
    li      t0, '\r'                    // CR LF: the LF is part of the CR
    beq     t2, t0, next_char
    j       end_line
1:  li      t0, 0x7f                    // DEL / backspace
    beq     a0, t0, backspace
    li      t0, 0x08
    beq     a0, t0, backspace
    li      t0, 0x20                    // other control characters: ignore
    bltu    a0, t0, next_char
    li      t0, 0x7f
    bgeu    a0, t0, next_char
    li      t0, LINE_MAX
    bgeu    s0, t0, next_char           // line full
    la      t0, line
    add     t0, t0, s0
    sb      a0, 0(t0)
    addi    s0, s0, 1
    call    putc                        // echo
    j       next_char

backspace:
    beqz    s0, next_char
    addi    s0, s0, -1
    la      a0, msg_bs
    call    puts
    j       next_char

end_line:
    la      a0, msg_crlf
    call    puts
    la      t0, line
    add     t0, t0, s0
    sb      zero, 0(t0)
    beqz    s0, prompt
    la      a0, line
    la      a1, cmd_help_s
    call    streq
    bnez    a0, cmd_help
    la      a0, line
    la      a1, cmd_disk_s
    call    streq
    bnez    a0, cmd_disk
    la      a0, line
    la      a1, cmd_quit_s
    call    streq
    bnez    a0, cmd_quit
    la      a0, msg_typed
    call    puts
    la      a0, line
    call    puts
    la      a0, msg_crlf
    call    puts
    j       prompt

cmd_help:
    la      a0, msg_help
    call    puts
    j       prompt

cmd_disk:
    la      t0, blk_base
    ld      t0, 0(t0)
    bnez    t0, 1f
    la      a0, msg_nodisk
    call    puts
    j       prompt
1:  call    print_count
    j       prompt

ctrl_d:
    la      a0, msg_crlf
    call    puts
cmd_quit:
    la      a0, msg_bye
    call    puts
    ld      ra, 40(sp)
    ld      s0, 32(sp)
    ld      s1, 24(sp)
    ld      s2, 16(sp)
    addi    sp, sp, 48
    ret                                 // _start powers off

// "boot count N" (N = 0 if the disk is too small to hold the counter)
print_count:
    addi    sp, sp, -16
    sd      ra, 8(sp)
    la      a0, msg_count
    call    puts
    la      t0, boot_count
    ld      a0, 0(t0)
    call    putdec
    la      t0, blk_flags
    ld      t0, 0(t0)
    andi    t0, t0, BLKF_RO
    beqz    t0, 1f
    la      a0, msg_notsaved
    call    puts
1:  la      a0, msg_crlf
    call    puts
    ld      ra, 8(sp)
    addi    sp, sp, 16
    ret

// streq(a0, a1) -> a0 = 1 if the strings are equal
streq:
1:  lbu     t0, 0(a0)
    lbu     t1, 0(a1)
    bne     t0, t1, 2f
    beqz    t0, 3f
    addi    a0, a0, 1
    addi    a1, a1, 1
    j       1b
2:  li      a0, 0
    ret
3:  li      a0, 1
    ret

    .section .rodata
msg_banner:   .asciz "\r\nRewind built-in guest\r\n"
msg_nodisk:   .asciz "no disk\r\n"
msg_disk1:    .asciz "disk: virtio-blk at 0x"
msg_disk2:    .asciz ", "
msg_disk3:    .asciz " sectors ("
msg_disk4:    .asciz " KiB)"
msg_ro:       .asciz ", read-only"
msg_sector0:  .asciz "sector 0:"
msg_count:    .asciz "boot count "
msg_notsaved: .asciz " (read-only disk: not saved)"
msg_ioerr:    .asciz "disk I/O error, status "
msg_prompt:   .asciz "> "
msg_bs:       .asciz "\b \b"
msg_typed:    .asciz "you typed: "
msg_help:     .asciz "commands:\r\n  help   this list\r\n  disk   show the boot counter\r\n  quit   power off (Ctrl-D too)\r\n"
msg_bye:      .asciz "bye\r\n"
cmd_help_s:   .asciz "help"
cmd_disk_s:   .asciz "disk"
cmd_quit_s:   .asciz "quit"

    .bss
    .align 3
boot_count:   .space 8
line:         .space LINE_MAX + 8
