//! x86-64 AMX-INT8 kernel (`tdpbssd`), Linux only.
//!
//! A tile multiply-add takes up to 16 activation rows by 64 int8 values
//! (tile A) against 16 groups of the k4n16 layout (tile B: 16 packed
//! columns × 64 values, which is exactly 1 KiB of a packed block read with a
//! 64-byte stride) into 16 × 16 exact i32 sums (tile C). Up to 32 rows by
//! 32 columns are kept in four C tiles while the inner dimension runs, so
//! each loaded A and B tile serves two products; 33 to 48 rows go as three
//! A tiles against one B tile, so that the weights are still read once. Signed × signed bytes: no
//! shift to correct. The sums go through the AVX-512 epilogue, so the result
//! is bit-identical to the scalar kernel.
//!
//! The tile instructions are written as inline assembly (Rust's AMX
//! intrinsics are unstable); the compiler never allocates the tile
//! registers, so the tile state set here is ours until `tilerelease`. Linux
//! must grant the process the tile data state first
//! (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`): [`available`]
//! asks once and the path is used only when that succeeded. Inner
//! dimensions that are not a multiple of 64 go to the AVX-512 VNNI kernel.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::arch::asm;
use std::arch::x86_64::*;
use std::sync::OnceLock;

use super::avx512::{gemm_avx512vnni, store16};
use super::{Gemm, NR};

/// Inner-dimension bytes of one A tile row (and groups × 4 of one B tile).
const KT: usize = 64;
/// Bytes of one B tile: 16 k4n16 groups of 64 bytes.
const B_TILE: usize = 16 * KT;
/// Rows of one tile at most.
const TILE_ROWS: usize = 16;

/// Whether the CPU has AMX-TILE and AMX-INT8 (CPUID leaf 7) and Linux gave
/// this process the tile data state; asked once per process.
pub(crate) fn available() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            return false;
        }
        // CPUID leaf 7 is present on every CPU with AVX-512.
        let leaf7 = __cpuid_count(7, 0);
        let (tile, int8) = (leaf7.edx >> 24 & 1 == 1, leaf7.edx >> 25 & 1 == 1);
        tile && int8 && request_tile_data()
    })
}

/// `arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`: true when granted.
fn request_tile_data() -> bool {
    const SYS_ARCH_PRCTL: isize = 158;
    const ARCH_REQ_XCOMP_PERM: usize = 0x1023;
    const XFEATURE_XTILEDATA: usize = 18;
    let ret: isize;
    // SAFETY: a Linux x86-64 system call that only changes which extended
    // states the process may use; it reads and writes no memory of ours.
    // `syscall` clobbers rcx and r11.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") SYS_ARCH_PRCTL => ret,
            in("rdi") ARCH_REQ_XCOMP_PERM,
            in("rsi") XFEATURE_XTILEDATA,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret == 0
}

/// The 64-byte tile configuration of `ldtilecfg` (palette 1).
#[repr(C, align(64))]
struct TileConfig {
    palette: u8,
    start_row: u8,
    reserved: [u8; 14],
    /// Bytes per row of each tile.
    colsb: [u16; 16],
    /// Rows of each tile.
    rows: [u8; 16],
}

/// Tiles: A rows `tmm0`, `tmm1`; B columns `tmm2`, `tmm3`; C `tmm4 + 2i + j`
/// for A tile `i` and B tile `j`.
impl TileConfig {
    /// No tile configured yet.
    fn empty() -> TileConfig {
        TileConfig {
            palette: 1,
            start_row: 0,
            reserved: [0; 14],
            colsb: [0; 16],
            rows: [0; 16],
        }
    }

    /// Tile `t`: `rows` rows of `colsb` bytes (left unconfigured when
    /// `rows == 0`).
    fn set(&mut self, t: usize, rows: usize, colsb: usize) {
        if rows > 0 {
            self.rows[t] = rows as u8;
            self.colsb[t] = colsb as u16;
        }
    }

    /// A tiles of `ra[0]` and `ra[1]` rows (`ra[1] == 0`: one A tile).
    fn new(ra: [usize; 2]) -> TileConfig {
        let mut c = TileConfig::empty();
        for (t, rows) in [(0, ra[0]), (1, ra[1]), (2, TILE_ROWS), (3, TILE_ROWS)] {
            c.set(t, rows, KT);
        }
        for (i, &rows) in ra.iter().enumerate() {
            for j in 0..2 {
                c.set(4 + 2 * i + j, rows, NR * 4);
            }
        }
        c
    }

    /// Three A tiles of `ra[i]` rows in `tmm0`–`tmm2`, one B tile in
    /// `tmm3`, C tile `tmm4 + i` for A tile `i`.
    fn three_a(ra: [usize; 3]) -> TileConfig {
        let mut c = TileConfig::empty();
        for (i, &rows) in ra.iter().enumerate() {
            c.set(i, rows, KT);
            c.set(4 + i, rows, NR * 4);
        }
        c.set(3, TILE_ROWS, KT);
        c
    }
}

/// AMX GEMM (falls back to AVX-512 VNNI when `kp` is not a multiple of 64).
///
/// Rows go in `⌈m/48⌉` blocks of near-equal height, each streaming the
/// weights once: a block of more than 32 rows as three A tiles against one
/// 16-column block at a time, a smaller one as two A tiles (one when it has
/// at most 16 rows) against two column blocks at a time.
///
/// # Safety
/// The CPU must support AVX-512 F, BW and VNNI, and [`available`] must have
/// returned true (AMX-TILE, AMX-INT8, tile data granted by the OS).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(crate) unsafe fn gemm_amx(g: &mut Gemm) {
    if !g.kp.is_multiple_of(KT) {
        // SAFETY: the CPU has AVX-512 F, BW and VNNI (our contract).
        unsafe { gemm_avx512vnni(g) };
        return;
    }
    assert!(g.a.len() >= g.m * g.kp && g.w.len() >= g.n_blocks() * NR * g.kp);
    let blocks = g.m.div_ceil(3 * TILE_ROWS);
    let mut row = 0;
    for b in 0..blocks {
        let h = g.m / blocks + usize::from(b < g.m % blocks);
        if h > 2 * TILE_ROWS {
            let ra = [h.div_ceil(3), (h + 1) / 3, h / 3];
            let cfg = TileConfig::three_a(ra);
            // SAFETY: AMX is available (our contract); the configuration
            // is a valid palette-1 layout of 64 bytes.
            unsafe { asm!("ldtilecfg [{}]", in(reg) &cfg, options(nostack, readonly)) };
            for nb in 0..g.n_blocks() {
                // SAFETY: rows row..row+h lie in g (h <= 48, the blocks add
                // up to m), A tiles of ra rows as configured; nb < blocks.
                unsafe { tile_step3(g, row, ra, nb) };
            }
            row += h;
            continue;
        }
        let ra = if h > TILE_ROWS {
            [h.div_ceil(2), h / 2]
        } else {
            [h, 0]
        };
        let cfg = TileConfig::new(ra);
        // SAFETY: AMX is available (our contract); the configuration is a
        // valid palette-1 layout of 64 bytes.
        unsafe { asm!("ldtilecfg [{}]", in(reg) &cfg, options(nostack, readonly)) };
        // SAFETY: rows row..row+h lie in g (h <= 32 here and the blocks
        // add up to m), A tiles of ra rows as configured; asserted operand sizes.
        unsafe { row_block(g, row, ra) };
        row += h;
    }
    // SAFETY: AMX is available; releases the tile state configured above.
    unsafe { asm!("tilerelease", options(nostack, nomem)) };
}

/// Rows `row0..row0 + ra[0] + ra[1]` against every column block, two at a
/// time, then the odd one.
///
/// # Safety
/// AMX and AVX-512 F, BW, VNNI available; tiles configured by
/// [`TileConfig::new`]`(ra)`; `g.kp % 64 == 0`; the rows lie in `g.a` and
/// every block in `g.w`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn row_block(g: &mut Gemm, row0: usize, ra: [usize; 2]) {
    let blocks = g.n_blocks();
    let mut nb = 0;
    while nb + 2 <= blocks {
        // SAFETY: forwarded; nb + 2 <= blocks.
        unsafe {
            if ra[1] > 0 {
                tile_step::<true, true>(g, row0, ra, nb)
            } else {
                tile_step::<false, true>(g, row0, ra, nb)
            }
        }
        nb += 2;
    }
    if nb < blocks {
        // SAFETY: forwarded; nb < blocks.
        unsafe {
            if ra[1] > 0 {
                tile_step::<true, false>(g, row0, ra, nb)
            } else {
                tile_step::<false, false>(g, row0, ra, nb)
            }
        }
    }
}

/// Loads tile `TMM` (a literal register name) from `$p` with row stride `$s`.
macro_rules! tileload {
    ($tmm:literal, $p:expr, $s:expr) => {
        asm!(
            concat!("tileloadd ", $tmm, ", [{p} + {s}*1]"),
            p = in(reg) $p,
            s = in(reg) $s,
            options(nostack, readonly)
        )
    };
}

/// `C += A · B` on tiles given as literal register names.
macro_rules! dp {
    ($c:literal, $a:literal, $b:literal) => {
        asm!(
            concat!("tdpbssd ", $c, ", ", $a, ", ", $b),
            options(nostack, nomem)
        )
    };
}

/// Stores tile `TMM` to `$p` with row stride `$s`.
macro_rules! tilestore {
    ($tmm:literal, $p:expr, $s:expr) => {
        asm!(
            concat!("tilestored [{p} + {s}*1], ", $tmm),
            p = in(reg) $p,
            s = in(reg) $s,
            options(nostack)
        )
    };
}

/// Rows of one A tile (`TWO_A`: two) against column blocks `nb` (and
/// `nb + 1` when `TWO_B`): the sums over the whole inner dimension in the C
/// tiles, stored, then through the epilogue.
///
/// # Safety
/// As [`row_block`], and block `nb` (`nb + 1` when `TWO_B`) lies in `g.w`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn tile_step<const TWO_A: bool, const TWO_B: bool>(
    g: &mut Gemm,
    row0: usize,
    ra: [usize; 2],
    nb: usize,
) {
    let kp = g.kp;
    // SAFETY: for every tile instruction below, AMX is available and the
    // tiles are configured (contract). A tile i reads ra[i] rows of 64
    // bytes at stride kp from row row0 (+ ra[0]) at byte kt*64 < kp: inside
    // g.a. B tile j reads 16 rows of 64 bytes, the groups kt*16..kt*16+16 of
    // block nb + j: bytes (nb+j)*16*kp + kt*1024 .. + 1024 <= (nb+j+1)*16*kp,
    // inside g.w. The stores write 16 i32 per configured row into `acc`.
    unsafe {
        let a0 = g.a.as_ptr().add(row0 * kp);
        let a1 = a0.add(ra[0] * kp);
        let w0 = g.w.as_ptr().add(nb * NR * kp);
        let w1 = w0.add(NR * kp);
        asm!("tilezero tmm4", options(nostack, nomem));
        if TWO_B {
            asm!("tilezero tmm5", options(nostack, nomem));
        }
        if TWO_A {
            asm!("tilezero tmm6", options(nostack, nomem));
            if TWO_B {
                asm!("tilezero tmm7", options(nostack, nomem));
            }
        }
        for kt in 0..kp / KT {
            tileload!("tmm2", w0.add(kt * B_TILE), KT);
            tileload!("tmm0", a0.add(kt * KT), kp);
            dp!("tmm4", "tmm0", "tmm2");
            if TWO_B {
                tileload!("tmm3", w1.add(kt * B_TILE), KT);
                dp!("tmm5", "tmm0", "tmm3");
            }
            if TWO_A {
                tileload!("tmm1", a1.add(kt * KT), kp);
                dp!("tmm6", "tmm1", "tmm2");
                if TWO_B {
                    dp!("tmm7", "tmm1", "tmm3");
                }
            }
        }
        let mut acc = [[[0i32; NR]; TILE_ROWS]; 4];
        let stride = NR * 4;
        tilestore!("tmm4", acc[0].as_mut_ptr(), stride);
        if TWO_B {
            tilestore!("tmm5", acc[1].as_mut_ptr(), stride);
        }
        if TWO_A {
            tilestore!("tmm6", acc[2].as_mut_ptr(), stride);
            if TWO_B {
                tilestore!("tmm7", acc[3].as_mut_ptr(), stride);
            }
        }
        for (i, &rows) in ra.iter().enumerate().take(1 + usize::from(TWO_A)) {
            let base = row0 + if i == 1 { ra[0] } else { 0 };
            for j in 0..1 + usize::from(TWO_B) {
                for (r, sums) in acc[2 * i + j].iter().take(rows).enumerate() {
                    let v = _mm512_loadu_si512(sums.as_ptr().cast());
                    store16(g, base + r, (nb + j) * NR, v);
                }
            }
        }
    }
}

/// Rows `row0..` in three A tiles of `ra[i]` rows against column block `nb`:
/// each B tile loaded once serves the three.
///
/// # Safety
/// AMX and AVX-512 F, BW, VNNI available; tiles configured by
/// [`TileConfig::three_a`]`(ra)`; `g.kp % 64 == 0`; the rows lie in `g.a`
/// and block `nb` in `g.w`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn tile_step3(g: &mut Gemm, row0: usize, ra: [usize; 3], nb: usize) {
    let kp = g.kp;
    // SAFETY: as in `tile_step`: A tile i reads ra[i] rows of 64 bytes at
    // stride kp from row row0 + ra[0] + .. + ra[i-1], at byte kt*64 < kp,
    // inside g.a; the B tile reads 1 KiB of block nb at kt*1024, inside g.w;
    // the stores write 16 i32 per configured row into `acc`.
    unsafe {
        let a0 = g.a.as_ptr().add(row0 * kp);
        let a1 = a0.add(ra[0] * kp);
        let a2 = a1.add(ra[1] * kp);
        let w0 = g.w.as_ptr().add(nb * NR * kp);
        asm!("tilezero tmm4", options(nostack, nomem));
        asm!("tilezero tmm5", options(nostack, nomem));
        asm!("tilezero tmm6", options(nostack, nomem));
        for kt in 0..kp / KT {
            tileload!("tmm3", w0.add(kt * B_TILE), KT);
            tileload!("tmm0", a0.add(kt * KT), kp);
            dp!("tmm4", "tmm0", "tmm3");
            tileload!("tmm1", a1.add(kt * KT), kp);
            dp!("tmm5", "tmm1", "tmm3");
            tileload!("tmm2", a2.add(kt * KT), kp);
            dp!("tmm6", "tmm2", "tmm3");
        }
        let mut acc = [[[0i32; NR]; TILE_ROWS]; 3];
        let stride = NR * 4;
        tilestore!("tmm4", acc[0].as_mut_ptr(), stride);
        tilestore!("tmm5", acc[1].as_mut_ptr(), stride);
        tilestore!("tmm6", acc[2].as_mut_ptr(), stride);
        let mut base = row0;
        for (i, &rows) in ra.iter().enumerate() {
            for (r, sums) in acc[i].iter().take(rows).enumerate() {
                let v = _mm512_loadu_si512(sums.as_ptr().cast());
                store16(g, base + r, nb * NR, v);
            }
            base += rows;
        }
    }
}
