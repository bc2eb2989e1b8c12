#![allow(clippy::unwrap_used)]
use sde_dataimport::{GeneratorConfig, PostGenerator, write_bulk};
use std::time::Instant;
fn main() {
    let n = 3_000_000;
    let t = Instant::now();
    let mut bytes = 0usize;
    for p in PostGenerator::new(GeneratorConfig::default()).take(n) { bytes += p.content.len(); }
    let s = t.elapsed().as_secs_f64();
    println!("generate: {n} posts in {s:.2}s = {:.2} M posts/s (avg content {} B)", n as f64 / s / 1e6, bytes / n);
    let t = Instant::now();
    let mut sink = std::io::sink();
    write_bulk(PostGenerator::new(GeneratorConfig::default()).take(n), "posts", &mut sink).unwrap();
    let s = t.elapsed().as_secs_f64();
    println!("generate+write_bulk: {:.2} M posts/s", n as f64 / s / 1e6);
    let mut buf = Vec::new();
    write_bulk(PostGenerator::new(GeneratorConfig::default()).take(n), "posts", &mut buf).unwrap();
    let t = Instant::now();
    let c = sde_dataimport::read_bulk(&buf[..]).count();
    let s = t.elapsed().as_secs_f64();
    println!("read_bulk: {c} in {s:.2}s = {:.2} M posts/s ({} MB)", c as f64 / s / 1e6, buf.len() / 1_000_000);
    for p in PostGenerator::new(GeneratorConfig::default()).take(6) { println!("{}", serde_json::to_string(&p).unwrap()); }
}
