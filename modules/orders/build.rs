//! Compiles the orders contract's `.proto` file (beside the contract crate, which stays
//! free of gRPC) into messages, a server and a client, with `protox`: nothing is
//! downloaded or installed to build.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (contract, vocab) = ("api/proto", "../vocab/proto");
    println!("cargo:rerun-if-changed={contract}");
    println!("cargo:rerun-if-changed={vocab}");
    let files = protox::compile(["orders.proto"], [contract, vocab])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("orders.bin"), files.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_transport(false)
        .extern_path(".cleave.vocab.v1", "::runtime::grpc::vocab")
        .compile_fds(files)?;
    Ok(())
}
