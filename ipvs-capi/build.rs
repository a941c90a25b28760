//! Gives `libipvs.so` the soname cargo-c gives it (`cargo cinstall`): `libipvs.so.<sover>`,
//! where sover is the major version, or `0.<minor>` before 1.0 (`0.0.<patch>` before 0.1), so
//! that programs linked against one release keep the library they were linked with until an
//! incompatible one. `scripts/install-capi` installs the file under the same names.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os != "linux" {
        return;
    }
    let num = |key: &str| std::env::var(key).ok().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let (major, minor, patch) =
        (num("CARGO_PKG_VERSION_MAJOR"), num("CARGO_PKG_VERSION_MINOR"), num("CARGO_PKG_VERSION_PATCH"));
    let sover = match (major, minor) {
        (0, 0) => format!("0.0.{patch}"),
        (0, minor) => format!("0.{minor}"),
        (major, _) => major.to_string(),
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libipvs.so.{sover}");
}
