// Package rrlog owns the byte format of a Rewind recording ("run.rwd"):
// everything needed to replay a whole-machine session exactly.
//
// A recording is a header (magic, format version, and a JSON body naming
// the emulator, the machine config, the images and the clock settings)
// followed by framed chunks. Each chunk is one zstd frame protected by a
// CRC32C and holds a run of events, each stamped with the guest
// instruction count (icount) at which it happened. The last chunk holds
// the End record with totals; a file without it is a truncated recording
// whose complete chunks are still readable. docs/LOG-FORMAT.md is the
// byte-level specification.
//
// The machine goroutine appends events through a Writer, which never
// blocks on the disk: a background goroutine compresses and writes the
// pending events at least every FlushInterval (100 ms). A Reader returns
// the events back in order. Verify, Info and Dump inspect a file without
// replaying it.
//
// rrlog knows nothing of the machine: event payloads are bytes with typed
// constructors (NewSerialInput, ...) and accessors (Event.SerialInput, ...).
// The machine config in the header is opaque JSON.
package rrlog
