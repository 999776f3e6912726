//! The file checksum (`ptag64`): four independent multiply-rotate lanes over
//! little-endian 64-bit words, combined with the length.
//!
//! Every step is a bijection of the lane state for a fixed input word, so any
//! change confined to one 8-byte word (every single-bit or single-byte flip)
//! is always detected; wider corruptions are detected with probability
//! 1 - 2^-64. It is not cryptographic: it guards against damage, not attacks.

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const SEEDS: [u64; 4] = [
    0x243F_6A88_85A3_08D3,
    0x1319_8A2E_0370_7344,
    0xA409_3822_299F_31D0,
    0x082E_FA98_EC4E_6C89,
];

#[inline]
fn step(h: u64, w: u64) -> u64 {
    ((h ^ w).wrapping_mul(P1)).rotate_left(31)
}

#[inline]
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h
}

/// Streaming `ptag64` state.
#[derive(Debug, Clone)]
pub struct Checksum {
    lanes: [u64; 4],
    /// Bytes not yet forming a whole 32-byte stripe.
    pending: [u8; 32],
    n_pending: usize,
    len: u64,
}

impl Default for Checksum {
    fn default() -> Self {
        Self::new()
    }
}

impl Checksum {
    /// A fresh state.
    pub fn new() -> Self {
        Checksum {
            lanes: SEEDS,
            pending: [0; 32],
            n_pending: 0,
            len: 0,
        }
    }

    fn stripe(&mut self, s: &[u8]) {
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&s[i * 8..i * 8 + 8]);
            *lane = step(*lane, u64::from_le_bytes(w));
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.n_pending > 0 {
            let take = (32 - self.n_pending).min(data.len());
            self.pending[self.n_pending..self.n_pending + take].copy_from_slice(&data[..take]);
            self.n_pending += take;
            data = &data[take..];
            if self.n_pending < 32 {
                return;
            }
            let p = self.pending;
            self.stripe(&p);
            self.n_pending = 0;
        }
        let mut chunks = data.chunks_exact(32);
        for c in &mut chunks {
            self.stripe(c);
        }
        let rest = chunks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.n_pending = rest.len();
    }

    /// The checksum of everything fed so far.
    pub fn finish(&self) -> u64 {
        let mut st = self.clone();
        if st.n_pending > 0 {
            for b in &mut st.pending[st.n_pending..] {
                *b = 0;
            }
            let p = st.pending;
            st.stripe(&p);
        }
        let mut r = st.len.wrapping_mul(P2);
        for lane in st.lanes {
            r = (r ^ mix(lane)).wrapping_mul(P1).rotate_left(27);
        }
        mix(r)
    }
}

/// `ptag64` of one buffer.
pub fn checksum(data: &[u8]) -> u64 {
    let mut c = Checksum::new();
    c.update(data);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_equals_one_shot() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        for split in [0, 1, 7, 31, 32, 33, 500, 999, 1000] {
            let mut c = Checksum::new();
            c.update(&data[..split]);
            c.update(&data[split..]);
            assert_eq!(c.finish(), checksum(&data), "split {split}");
        }
    }

    #[test]
    fn every_bit_flip_changes_it() {
        let data: Vec<u8> = (0..200u32).map(|i| (i * 31 + 1) as u8).collect();
        let base = checksum(&data);
        for i in 0..data.len() * 8 {
            let mut d = data.clone();
            d[i / 8] ^= 1 << (i % 8);
            assert_ne!(checksum(&d), base, "bit {i}");
        }
        // Trailing zero bytes change the length, hence the sum.
        let mut longer = data.clone();
        longer.push(0);
        assert_ne!(checksum(&longer), base);
    }
}
