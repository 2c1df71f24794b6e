//! Engine throughput: the full model on a 100k-message scenario, next to a bare binary-heap
//! event loop of the same retry model (the floor any engine pays), in one run so the ratio is
//! measured on the same machine state. Reported as events per second (criterion "thrpt").
//!
//! Run: `cargo bench --bench engine`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

const SCENARIO: &str = include_str!("bench-100k.toml");

fn load() -> mxsim_core::Scenario {
    mxsim_core::scenario::load(SCENARIO, "benches/bench-100k.toml")
        .expect("benchmark scenario is valid")
}

/// The bare loop: 100k Poisson arrivals, each attempt fails with p = 0.3 (xorshift coin),
/// exponential backoff 300 s ×2 capped at 4000 s; events are (time, seq, message) in a heap.
fn bare_heap_loop(messages: u64) -> u64 {
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut heap = BinaryHeap::new();
    let mut attempts = vec![0u32; messages as usize];
    let mut t = 0.0f64;
    for m in 0..messages {
        t += -360.0 * libm::log(1.0 - next());
        heap.push(Reverse(((t * 1000.0) as u64, m, m)));
    }
    let mut seq = messages;
    let mut events = 0;
    while let Some(Reverse((now, _, m))) = heap.pop() {
        events += 1;
        if next() < 0.3 {
            let k = attempts[m as usize];
            attempts[m as usize] += 1;
            let delay = (300_000u64 << k.min(20)).min(4_000_000);
            heap.push(Reverse((now + delay, seq, m)));
            seq += 1;
        }
    }
    events
}

fn benches(c: &mut Criterion) {
    let events = {
        let mut sim = mxsim_core::Simulation::new(load());
        sim.run();
        sim.events()
    };
    let mut g = c.benchmark_group("engine");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events));
    g.bench_function("mxsim_100k_messages", |b| {
        b.iter_batched(
            || mxsim_core::Simulation::new(load()),
            |mut sim| {
                sim.run();
                sim.events()
            },
            BatchSize::LargeInput,
        )
    });
    let bare_events = bare_heap_loop(100_000);
    g.throughput(Throughput::Elements(bare_events));
    g.bench_function("bare_heap_loop_100k_messages", |b| {
        b.iter(|| bare_heap_loop(100_000))
    });
    g.finish();
}

criterion_group!(engine, benches);
criterion_main!(engine);
