//! Replays every kept fuzz input through its target, so the default test run covers the corpora
//! and every crash ever found; checks the seeds are real encodings the targets get past decoding.

use bytes::Bytes;
use commonware_codec::{Decode, DecodeExt};
use commonware_cryptography::certificate::Verifier;
use formica_fuzz::{SigningScheme, TARGETS};
use formica_types::{Block, BlockLimits, Hash, Transaction, TransactionLimits};
use std::path::{Path, PathBuf};

fn fuzz_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `folder` (none if it does not exist), in name order.
fn inputs(folder: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(folder) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = entries.map(|entry| entry.expect("a readable entry").path()).collect();
    paths.sort();
    paths
        .into_iter()
        .filter(|path| path.is_file())
        .map(|path| (path.clone(), std::fs::read(&path).expect("readable")))
        .collect()
}

#[test]
fn every_corpus_and_regression_input_replays() {
    for (name, target) in TARGETS {
        let corpus = inputs(&fuzz_folder().join("corpus").join(name));
        assert!(!corpus.is_empty(), "fuzz/corpus/{name} is empty or missing: run the write_seeds example");
        let regressions = inputs(&fuzz_folder().join("regressions").join(name));
        for (path, data) in corpus.iter().chain(&regressions) {
            let outcome = std::panic::catch_unwind(|| target(data));
            assert!(outcome.is_ok(), "{name} fails on {}", path.display());
        }
        println!("{name}: {} corpus inputs, {} regressions replayed", corpus.len(), regressions.len());
    }
}

#[test]
fn every_target_has_a_fuzz_target_file() {
    for (name, _) in TARGETS {
        let file = fuzz_folder().join("fuzz_targets").join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        assert!(
            text.contains(&format!("formica_fuzz::{name}(")),
            "{} does not call formica_fuzz::{name}",
            file.display()
        );
    }
}

#[test]
fn seeds_are_valid_encodings() {
    let seeds = formica_fuzz::seeds::all();
    assert_eq!(
        seeds.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        TARGETS.iter().map(|(name, _)| *name).collect::<Vec<_>>()
    );
    for (name, inputs) in &seeds {
        let target = TARGETS.iter().find(|(candidate, _)| candidate == name).expect("a target").1;
        for input in inputs {
            target(input);
        }
    }
    let limits = TransactionLimits::default();
    for input in &seeds[0].1 {
        let transaction =
            Transaction::decode_cfg(Bytes::copy_from_slice(input), &limits).expect("a transaction seed decodes");
        assert!(formica_crypto::verify_individually(&transaction), "seed signatures are valid");
    }
    let blocks = &seeds[1].1;
    for input in &blocks[..3] {
        Block::decode_cfg(Bytes::copy_from_slice(input), &BlockLimits::default()).expect("a block seed decodes");
    }
    for input in &seeds[2].1 {
        let (_, payload) = commonware_p2p::utils::mux::parse(input.clone().into()).expect("a prefix");
        let payload = Bytes::copy_from_slice(payload.as_ref());
        let vote = commonware_consensus::simplex::types::Vote::<SigningScheme, Hash>::decode(payload.clone()).is_ok();
        let certificate =
            commonware_consensus::simplex::types::Certificate::<SigningScheme, Hash>::decode_cfg(payload.clone(), &4)
                .is_ok();
        let finalization = commonware_consensus::simplex::types::Finalization::<SigningScheme, Hash>::decode_cfg(
            payload,
            &<SigningScheme as Verifier>::certificate_codec_config_unbounded(),
        )
        .is_ok();
        assert!(vote || certificate || finalization, "a consensus seed decodes");
    }
}

/// The targets' checks can fail: a transaction whose encoding is not canonical would be caught,
/// and a response that is not JSON-RPC would be. Here: inputs that must be refused early are.
#[test]
fn targets_refuse_without_panicking() {
    let transaction = &formica_fuzz::seeds::all()[0].1[0];
    let mut trailing = transaction.clone();
    trailing.push(0);
    formica_fuzz::transaction(&trailing);
    formica_fuzz::gossip(&vec![0; TransactionLimits::default().encoded_bytes_max + 1]);
    formica_fuzz::rpc(&"[".repeat(100_000).into_bytes());
    formica_fuzz::rpc(br#"{"jsonrpc":"2.0","id":1,"method":"formica_getAccount","params":["0xzz"]}"#);
    formica_fuzz::consensus(&[0xff; 11]);
    formica_fuzz::block(&[]);
}
