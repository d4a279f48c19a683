//! Builds the browser verifier the node serves to verification pages: `formica-verify`
//! compiled for `wasm32-unknown-unknown` as a C-ABI module (see `crates/verify/src/wasm.rs`),
//! embedded with `include_bytes!` from `OUT_DIR/formica_verify.wasm`.
//!
//! It runs a nested cargo with its own target folder (next to this build's, shared by check,
//! build, clippy and doc runs, so it is built once and then only checked) and without the outer
//! build's wrappers and flags, which are for the host.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest.parent().and_then(Path::parent).expect("crates/rpc is two levels below the workspace");
    for watched in ["crates/verify", "crates/types", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", workspace.join(watched).display());
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    // OUT_DIR is <target>/<profile>/build/<package>/out.
    let target_dir = out.ancestors().nth(3).unwrap_or(&out).join("formica-verify-wasm");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["rustc", "--locked", "--release", "--lib", "-p", "formica-verify"])
        .args(["--target", "wasm32-unknown-unknown", "--crate-type", "cdylib", "--target-dir"])
        .arg(&target_dir)
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1");
    for variable in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "CLIPPY_ARGS",
    ] {
        command.env_remove(variable);
    }
    let status = command.status().expect("cargo runs");
    assert!(
        status.success(),
        "building the browser verifier for wasm32 failed; scripts/setup.sh installs what it needs \
         (the wasm32-unknown-unknown target, clang)"
    );
    let wasm = target_dir.join("wasm32-unknown-unknown/release/formica_verify.wasm");
    std::fs::copy(&wasm, out.join("formica_verify.wasm"))
        .unwrap_or_else(|error| panic!("copying {}: {error}", wasm.display()));
}
