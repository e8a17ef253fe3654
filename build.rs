//! Build metadata for `--version` and `partnercenter_build_info`: the git revision and the build
//! date (the commit's date), without network. `PARTNERCENTER_BUILD_REVISION` / `PARTNERCENTER_BUILD_DATE` override
//! them (a Docker build has no `.git`); otherwise `git` is asked, and "unknown" is the fallback.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-env-changed=PARTNERCENTER_BUILD_REVISION");
    println!("cargo:rerun-if-env-changed=PARTNERCENTER_BUILD_DATE");
    // Rebuild when HEAD moves; the paths may not exist outside a git checkout, which is fine.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={dir}/{head_ref}");
        }
    }
    let revision = std::env::var("PARTNERCENTER_BUILD_REVISION")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    // The commit's date rather than the wall clock: two builds of one commit agree, and the
    // build script need not run again on every build.
    let date = std::env::var("PARTNERCENTER_BUILD_DATE")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| git(&["log", "-1", "--format=%cd", "--date=format:%Y-%m-%d"]))
        .unwrap_or_else(|| "unknown".to_owned());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let rust_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=PARTNERCENTER_REVISION={revision}");
    println!("cargo:rustc-env=PARTNERCENTER_BUILD_DATE={date}");
    println!("cargo:rustc-env=PARTNERCENTER_RUST_VERSION={rust_version}");
}
