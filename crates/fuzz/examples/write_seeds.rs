//! Writes every target's seeds (valid encodings, `formica_fuzz::seeds`) to
//! `fuzz/corpus/<target>/seed-<n>`, replacing earlier seeds and leaving the fuzzer's files alone.
//!
//! `cargo run -p formica-fuzz --example write_seeds`

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for (target, seeds) in formica_fuzz::seeds::all() {
        let folder = corpus.join(target);
        std::fs::create_dir_all(&folder)?;
        for (index, seed) in seeds.iter().enumerate() {
            std::fs::write(folder.join(format!("seed-{index}")), seed)?;
        }
        println!("{target}: {} seeds in {}", seeds.len(), folder.display());
    }
    Ok(())
}
