//! `deskbridge zendesk app-package`: the zip a Zendesk admin uploads, made from
//! the app's files in `apps/zendesk/` (built into the binary, so a server
//! without the source can make it) with deskbridge's URL written in.
//!
//! What Zendesk requires of a package ("File requirements" and "Manifest
//! reference" in Zendesk's app developer guide): `manifest.json` with
//! `author`, `frameworkVersion` and `location`; `translations/en.json`;
//! `assets/logo.png` (320×320) and `assets/logo-small.png` (128×128); and, for
//! a top bar app, `assets/icon_top_bar.svg`. The tests check each.

use std::io::Write;

/// The URL the files carry until a package is made.
pub const PLACEHOLDER: &str = "https://deskbridge.example.com";

/// The app's files, by their path in the package.
pub const FILES: &[(&str, &[u8])] = &[
    (
        "manifest.json",
        include_bytes!("../../../../apps/zendesk/manifest.json"),
    ),
    (
        "translations/en.json",
        include_bytes!("../../../../apps/zendesk/translations/en.json"),
    ),
    (
        "assets/logo.png",
        include_bytes!("../../../../apps/zendesk/assets/logo.png"),
    ),
    (
        "assets/logo-small.png",
        include_bytes!("../../../../apps/zendesk/assets/logo-small.png"),
    ),
    (
        "assets/icon_top_bar.svg",
        include_bytes!("../../../../apps/zendesk/assets/icon_top_bar.svg"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(
        "--url {0:?}: give deskbridge's address as Zendesk's agents reach it, https://host[:port][/path] \
         (http:// only for 127.0.0.1 or localhost, to try it)"
    )]
    Url(String),
    #[error("writing the zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("writing the zip: {0}")]
    Io(#[from] std::io::Error),
}

/// `url` as the app's files will carry it, without a trailing `/`.
pub fn app_url(url: &str) -> Result<String, PackageError> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| PackageError::Url(url.into()))?;
    let host = rest.split('/').next().unwrap_or("");
    let host_name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let plain_ok = matches!(host_name, "127.0.0.1" | "localhost");
    let ok = !host_name.is_empty()
        && !url.contains(['"', '\\', ' ', '?', '#'])
        && (scheme == "https" || (scheme == "http" && plain_ok));
    match ok {
        true => Ok(url.to_string()),
        false => Err(PackageError::Url(url.into())),
    }
}

/// The file at `path` of a package for `url`.
pub fn file(path: &str, url: &str) -> Option<Vec<u8>> {
    let (_, bytes) = FILES.iter().find(|(p, _)| *p == path)?;
    Some(match path.ends_with(".json") {
        true => String::from_utf8_lossy(bytes)
            .replace(PLACEHOLDER, url)
            .into_bytes(),
        false => bytes.to_vec(),
    })
}

/// The zip for deskbridge at `url`.
pub fn package(url: &str) -> Result<Vec<u8>, PackageError> {
    let url = app_url(url)?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, _) in FILES {
        zip.start_file(*path, options)?;
        if let Some(bytes) = file(path, &url) {
            zip.write_all(&bytes)?;
        }
    }
    Ok(zip.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    //! The package against Zendesk's manifest reference and file requirements
    //! (developer.zendesk.com: "Manifest reference", "File requirements",
    //! "Styling and assets"). `zcli apps:validate` uploads the zip to a Zendesk
    //! account (`POST /api/v2/apps/validate`), which a test here cannot reach:
    //! these are the same rules, checked offline.

    use super::*;
    use crate::zendesk_app::AppLocation;
    use serde_json::Value;

    const URL: &str = "https://deskbridge.acme.com";

    fn json(path: &str) -> Value {
        serde_json::from_slice(&file(path, URL).unwrap()).unwrap()
    }

    /// A PNG's width and height, from its IHDR chunk.
    fn png_size(bytes: &[u8]) -> (u32, u32) {
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
        assert_eq!(&bytes[12..16], b"IHDR");
        let n = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        (n(16), n(20))
    }

    #[test]
    fn the_manifest_has_what_zendesk_requires_and_points_at_deskbridge() {
        let m = json("manifest.json");
        for key in [
            "name",
            "author",
            "defaultLocale",
            "location",
            "version",
            "frameworkVersion",
        ] {
            assert!(m.get(key).is_some(), "manifest without {key}");
        }
        assert_eq!(m["frameworkVersion"], "2.0");
        assert!(m["author"]["name"].is_string() && m["author"]["email"].is_string());
        assert_eq!(m["defaultLocale"], "en");
        assert_eq!(m["private"], true);
        // Zendesk signs the agent in: the token comes with each location's first load.
        assert_eq!(m["signedUrls"], true);
        let locations = m["location"]["support"].as_object().unwrap();
        assert_eq!(locations.len(), AppLocation::ALL.len());
        for location in AppLocation::ALL {
            let url = &locations[location.as_str()]["url"];
            assert_eq!(url, &format!("{URL}/zendesk/{}", location.as_str()));
        }
        // Nothing secret: one parameter, deskbridge's address.
        let params = m["parameters"].as_array().unwrap();
        assert_eq!(params.len(), 1);
        assert_eq!(params[0]["name"], "deskbridge_url");
        assert_eq!(params[0]["default"], URL);
        assert!(params.iter().all(|p| p.get("secure").is_none()));
        assert!(
            !String::from_utf8_lossy(&file("manifest.json", URL).unwrap()).contains(PLACEHOLDER)
        );
    }

    #[test]
    fn the_files_zendesk_requires_are_there_as_it_requires_them() {
        let t = json("translations/en.json");
        for key in [
            "name",
            "short_description",
            "long_description",
            "installation_instructions",
        ] {
            assert!(
                t["app"][key].is_string(),
                "translations/en.json without app.{key}"
            );
        }
        assert!(t["app"]["parameters"]["deskbridge_url"]["label"].is_string());
        assert_eq!(png_size(&file("assets/logo.png", URL).unwrap()), (320, 320));
        assert_eq!(
            png_size(&file("assets/logo-small.png", URL).unwrap()),
            (128, 128)
        );
        // A top bar app needs its icon, an SVG with a viewBox.
        let icon = String::from_utf8(file("assets/icon_top_bar.svg", URL).unwrap()).unwrap();
        assert!(icon.trim_start().starts_with("<svg") && icon.contains("viewBox"));
    }

    #[test]
    fn the_zip_holds_the_files_with_the_url_written_in() {
        let zip = package(&format!("{URL}/")).unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        let mut names: Vec<String> = archive.file_names().map(str::to_string).collect();
        names.sort();
        let mut expected: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
        expected.sort();
        assert_eq!(names, expected);
        let mut manifest = String::new();
        std::io::Read::read_to_string(
            &mut archive.by_name("manifest.json").unwrap(),
            &mut manifest,
        )
        .unwrap();
        assert!(manifest.contains("https://deskbridge.acme.com/zendesk/top_bar"));
    }

    #[test]
    fn a_url_zendesk_could_not_load_is_refused_with_what_to_give() {
        for bad in [
            "",
            "deskbridge.acme.com",
            "http://deskbridge.acme.com",
            "ftp://x",
            "https://",
            "https://a b",
        ] {
            let e = package(bad).unwrap_err().to_string();
            assert!(e.contains("https://host"), "{bad:?}: {e}");
        }
        assert_eq!(
            app_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            app_url("https://acme.com/desk").unwrap(),
            "https://acme.com/desk"
        );
    }
}
