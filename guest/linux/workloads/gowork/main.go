// Command gowork is the Go workload of Rewind's Linux guest. Each job is
// split over four goroutines and the parts are combined in a fixed
// order, so the output does not depend on how the guest schedules them
// (one hart or several) and is the same on the build host, where
// build.sh runs it to record the expected output.
//
// Jobs: count primes with a segmented sieve, SHA-256 of generated data,
// a floating-point series (explicit fused multiply-adds), and a
// four-stage channel pipeline.
package main

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
)

const workers = 4

// split runs job(w) for w in 0..workers-1 on their own goroutines and
// waits for all of them.
func split(job func(w int)) {
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			job(w)
		}(w)
	}
	wg.Wait()
}

// primes counts the primes below limit. The range is cut into segments
// of segSize numbers; worker w sieves segments w, w+workers, ...
func primes(limit int) int {
	const segSize = 1 << 16
	root := int(math.Sqrt(float64(limit))) + 1
	small := []int{}
	comp := make([]bool, root+1)
	for i := 2; i <= root; i++ {
		if !comp[i] {
			small = append(small, i)
			for j := i * i; j <= root; j += i {
				comp[j] = true
			}
		}
	}
	var counts [workers]int
	split(func(w int) {
		seg := make([]bool, segSize)
		for lo := w * segSize; lo < limit; lo += workers * segSize {
			hi := min(lo+segSize, limit)
			clear(seg)
			for _, p := range small {
				start := max(p*p, (lo+p-1)/p*p)
				for j := start; j < hi; j += p {
					seg[j-lo] = true
				}
			}
			for n := max(lo, 2); n < hi; n++ {
				if !seg[n-lo] {
					counts[w]++
				}
			}
		}
	})
	total := 0
	for _, c := range counts {
		total += c
	}
	return total
}

// splitmix64 is a small generator with a fixed sequence for each seed.
type splitmix64 uint64

func (s *splitmix64) next() uint64 {
	*s += 0x9E3779B97F4A7C15
	z := uint64(*s)
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// digest hashes mib MiB of generated data per worker, then the workers'
// digests in order.
func digest(mib int) [32]byte {
	var parts [workers][32]byte
	split(func(w int) {
		rng := splitmix64(0x52657769 + w)
		h := sha256.New()
		buf := make([]byte, 64<<10)
		for n := 0; n < mib<<20; n += len(buf) {
			for i := 0; i < len(buf); i += 8 {
				binary.LittleEndian.PutUint64(buf[i:], rng.next())
			}
			h.Write(buf)
		}
		h.Sum(parts[w][:0])
	})
	all := sha256.New()
	for _, p := range parts {
		all.Write(p[:])
	}
	var d [32]byte
	all.Sum(d[:0])
	return d
}

// series sums 1/k^3 for k = 1..n (Apery's constant; n >= workers):
// worker w takes the k with k%workers == w, from the small terms up,
// with math.FMA, whose result is exactly defined everywhere.
func series(n int) float64 {
	var parts [workers]float64
	split(func(w int) {
		s := 0.0
		for k := n - (n-w)%workers; k >= 1; k -= workers {
			inv := 1 / float64(k)
			sq := float64(inv * inv) // a conversion: never fused
			s = math.FMA(sq, inv, s)
		}
		parts[w] = s
	})
	return ((parts[0] + parts[1]) + parts[2]) + parts[3]
}

// pipeline sends 1..n through four goroutines, each applying its own
// step, and returns the count and sum of what comes out.
func pipeline(n int) (count int, sum uint64) {
	in := make(chan uint64, 16)
	ch := in
	for w := 0; w < workers; w++ {
		out := make(chan uint64, 16)
		go func(w int, in <-chan uint64, out chan<- uint64) {
			for v := range in {
				out <- v*uint64(2*w+3) ^ uint64(w)
			}
			close(out)
		}(w, ch, out)
		ch = out
	}
	go func() {
		for v := uint64(1); v <= uint64(n); v++ {
			in <- v
		}
		close(in)
	}()
	for v := range ch {
		count++
		sum += v
	}
	return count, sum
}

func main() {
	fmt.Printf("gowork primes below 2000000: %d\n", primes(2_000_000))
	fmt.Printf("gowork sha256 of 4x1 MiB: %x\n", digest(1))
	z := series(300_000)
	fmt.Printf("gowork zeta3=%.15f (%016x)\n", z, math.Float64bits(z))
	c, s := pipeline(50_000)
	fmt.Printf("gowork pipeline: %d values, sum %d\n", c, s)
	fmt.Println("gowork done")
}
