//! Progress: a bar on a terminal, plain log lines otherwise.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Reports loss, tokens/s and ETA.
pub struct Progress {
    tty: bool,
    start: Instant,
    last: Instant,
    every: Duration,
    total: u64,
    first_step: u64,
    tokens: u64,
    window_tokens: u64,
    window_start: Instant,
    loss_sum: f64,
    loss_n: u64,
}

impl Progress {
    /// Progress towards `total` steps, starting at `first_step`; plain lines every `every`.
    pub fn new(total: u64, first_step: u64, every: Duration) -> Progress {
        let now = Instant::now();
        Progress {
            tty: std::io::stderr().is_terminal(),
            start: now,
            last: now,
            every,
            total,
            first_step,
            tokens: 0,
            window_tokens: 0,
            window_start: now,
            loss_sum: 0.0,
            loss_n: 0,
        }
    }

    /// Tokens per second since the start.
    pub fn tokens_per_s(&self) -> f64 {
        self.tokens as f64 / self.start.elapsed().as_secs_f64().max(1e-9)
    }

    /// Records a finished step.
    pub fn step(&mut self, step: u64, epoch: usize, loss: f64, tokens: usize, lr: f64) {
        self.tokens += tokens as u64;
        self.window_tokens += tokens as u64;
        self.loss_sum += loss;
        self.loss_n += 1;
        let now = Instant::now();
        let due = if self.tty {
            now - self.last >= Duration::from_millis(250)
        } else {
            now - self.last >= self.every
        };
        if !due && step < self.total {
            return;
        }
        let done = step.saturating_sub(self.first_step).max(1) as f64;
        let per_step = self.start.elapsed().as_secs_f64() / done;
        let eta = per_step * self.total.saturating_sub(step) as f64;
        let tps = self.window_tokens as f64 / (now - self.window_start).as_secs_f64().max(1e-9);
        let loss = self.loss_sum / self.loss_n.max(1) as f64;
        let frac = step as f64 / self.total.max(1) as f64;
        let msg = format!(
            "step {step}/{} epoch {} loss {loss:.4} lr {lr:.2e} {tps:.0} tok/s ETA {}",
            self.total,
            epoch + 1,
            fmt_dur(eta)
        );
        if self.tty {
            let w = 24;
            let filled = ((frac * w as f64) as usize).min(w);
            eprint!(
                "\r[{}{}] {msg}   ",
                "#".repeat(filled),
                "-".repeat(w - filled)
            );
            let _ = std::io::stderr().flush();
        } else {
            eprintln!("{msg}");
        }
        self.last = now;
        self.window_tokens = 0;
        self.window_start = now;
        self.loss_sum = 0.0;
        self.loss_n = 0;
    }

    /// Ends a bar line before other output.
    pub fn newline(&self) {
        if self.tty {
            eprintln!();
        }
    }
}

fn fmt_dur(s: f64) -> String {
    let s = s.max(0.0) as u64;
    format!("{}h{:02}m{:02}s", s / 3600, (s / 60) % 60, s % 60)
}
