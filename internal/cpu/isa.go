package cpu

// Exception causes (Privileged spec §3.1.15, table 3.6).
const (
	CauseMisalignedFetch    = 0
	CauseFetchAccess        = 1
	CauseIllegalInstruction = 2
	CauseBreakpoint         = 3
	CauseMisalignedLoad     = 4
	CauseLoadAccess         = 5
	CauseMisalignedStore    = 6
	CauseStoreAccess        = 7
	CauseEcallU             = 8
	CauseEcallS             = 9
	CauseEcallM             = 11
	CauseFetchPageFault     = 12
	CauseLoadPageFault      = 13
	CauseStorePageFault     = 15
)

// Interrupt numbers and their mip/mie bits (Privileged spec §3.1.9).
const (
	IntSSI = 1
	IntMSI = 3
	IntSTI = 5
	IntMTI = 7
	IntSEI = 9
	IntMEI = 11

	MipSSIP = 1 << IntSSI
	MipMSIP = 1 << IntMSI
	MipSTIP = 1 << IntSTI
	MipMTIP = 1 << IntMTI
	MipSEIP = 1 << IntSEI
	MipMEIP = 1 << IntMEI
)

// Privilege levels.
const (
	PrivU = 0
	PrivS = 1
	PrivM = 3
)

// mstatus fields (Privileged spec §3.1.6).
const (
	msSIE  = 1 << 1
	msMIE  = 1 << 3
	msSPIE = 1 << 5
	msMPIE = 1 << 7
	msSPP  = 1 << 8
	msMPP  = 3 << 11
	msFS   = 3 << 13
	msMPRV = 1 << 17
	msSUM  = 1 << 18
	msMXR  = 1 << 19
	msTVM  = 1 << 20
	msTW   = 1 << 21
	msTSR  = 1 << 22
	msUXL  = 3 << 32
	msSXL  = 3 << 34
	msSD   = 1 << 63

	// mstatus bits software can change from M-mode.
	mstatusWritable = msSIE | msMIE | msSPIE | msMPIE | msSPP | msMPP | msFS |
		msMPRV | msSUM | msMXR | msTVM | msTW | msTSR
	// sstatus is a restricted view of mstatus.
	sstatusMask     = msSIE | msSPIE | msSPP | msFS | msSUM | msMXR | msUXL | msSD
	sstatusWritable = msSIE | msSPIE | msSPP | msFS | msSUM | msMXR
)

// CSR numbers used by the hart.
const (
	csrFflags   = 0x001
	csrFrm      = 0x002
	csrFcsr     = 0x003
	csrCycle    = 0xc00
	csrTime     = 0xc01
	csrInstret  = 0xc02
	csrSstatus  = 0x100
	csrSie      = 0x104
	csrStvec    = 0x105
	csrScounter = 0x106
	csrSenvcfg  = 0x10a
	csrSscratch = 0x140
	csrSepc     = 0x141
	csrScause   = 0x142
	csrStval    = 0x143
	csrSip      = 0x144
	csrSatp     = 0x180

	csrMvendorid  = 0xf11
	csrMarchid    = 0xf12
	csrMimpid     = 0xf13
	csrMhartid    = 0xf14
	csrMconfigptr = 0xf15
	csrMstatus    = 0x300
	csrMisa       = 0x301
	csrMedeleg    = 0x302
	csrMideleg    = 0x303
	csrMie        = 0x304
	csrMtvec      = 0x305
	csrMcounteren = 0x306
	csrMenvcfg    = 0x30a
	csrMcountinh  = 0x320
	csrMscratch   = 0x340
	csrMepc       = 0x341
	csrMcause     = 0x342
	csrMtval      = 0x343
	csrMip        = 0x344
	csrPmpcfg0    = 0x3a0
	csrPmpaddr0   = 0x3b0
	csrMcycle     = 0xb00
	csrMinstret   = 0xb02
)

// misa for RV64IMAFDC with S and U modes.
const misaValue = 2<<62 | 1 /* A */ | 1<<('C'-'A') | 1<<('D'-'A') | 1<<('F'-'A') |
	1<<('I'-'A') | 1<<('M'-'A') | 1<<('S'-'A') | 1<<('U'-'A')
