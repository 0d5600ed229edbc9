//! Compiles the runtime's `.proto` files — the vocabulary every contract's messages use,
//! and event delivery — with `protox`, a protobuf compiler in Rust: nothing is downloaded
//! or installed to build, and the same sources give the same code on every machine.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (vocab, own) = ("../vocab/proto", "proto");
    println!("cargo:rerun-if-changed={vocab}");
    println!("cargo:rerun-if-changed={own}");
    let files = protox::compile(["vocab.proto", "events.proto"], [vocab, own])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    // What server reflection describes.
    std::fs::write(out.join("runtime.bin"), files.encode_to_vec())?;
    tonic_prost_build::configure()
        // The clients run on the peer stack, not on tonic's transport.
        .build_transport(false)
        .compile_fds(files)?;
    Ok(())
}
