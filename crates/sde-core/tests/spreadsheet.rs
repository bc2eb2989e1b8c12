//! CSV exports opened by a real spreadsheet: LibreOffice Calc (headless) reads an export of
//! hostile posts with `,`, `;` and tab as the separator, and the flat ODS it writes must hold
//! no formula while the hostile text is still there, as text.
//!
//! Needs `soffice` (`apt-get install -y --no-install-recommends libreoffice-calc-nogui`; the
//! test command `scripts/test.sh` installs it when run as root), or its path in `SDE_SOFFICE`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use sde_core::encode::RowEncoder;
use sde_core::{Column, ExportOptions, Post, UserId};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Field separators a spreadsheet may be told to split on (the CSV filter's first token is the
/// separator's character code): `,`, the `;` of many European locales, and tab.
const SEPARATORS: [(u8, &str); 3] = [(b',', "comma"), (b';', "semicolon"), (b'\t', "tab")];

/// Hand-written hostile cells, one per way of starting a formula we know of. Each holds a
/// marker (`1001+1`, …) that must still be in the sheet afterwards, as text.
const HOSTILE: &[(&str, &str)] = &[
    ("=1001+1", "1001+1"),
    ("+1002+1", "1002+1"),
    ("-1003+1", "1003+1"),
    ("@SUM(1004)", "SUM(1004)"),
    ("\t=1005+1", "1005+1"),
    ("\r=1006+1", "1006+1"),
    ("\n=1007+1", "1007+1"),
    ("\0=1008+1", "1008+1"),
    ("\0\0=1009+1", "1009+1"),
    ("\u{FF1D}1010+1", "1010+1"),
    ("\u{FF0B}1011+1", "1011+1"),
    ("\u{FF0D}1012+1", "1012+1"),
    ("\u{FF20}SUM(1013)", "SUM(1013)"),
    ("x;=1014+1", "1014+1"),
    ("x;;=1015+1", "1015+1"),
    ("x\t=1016+1", "1016+1"),
    ("x\r\n=1017+1", "1017+1"),
    ("x\n=1018+1", "1018+1"),
    ("x\r=1019+1", "1019+1"),
    ("x;\0=1020+1", "1020+1"),
    ("x;\t=1021+1", "1021+1"),
    ("x,\"y\";=1022+1", "1022+1"),
    ("x;\"=1023+1\";y", "1023+1"),
    ("\"=1024+1\"", "1024+1"),
    ("say \"hi\";=1025+1", "1025+1"),
    ("x;-1026+1", "1026+1"),
    ("x;+1027+1", "1027+1"),
    ("x;@SUM(1028)", "SUM(1028)"),
    ("x\n-1029+1", "1029+1"),
    (";=1030+1", "1030+1"),
    ("x;\u{FF1D}1031+1", "1031+1"),
    ("x; =1032+1", "1032+1"),
    ("x\n\"=1033+1\";y", "1033+1"),
];

/// Hostile tags, user ids and document ids: every text column is written the same way.
const HOSTILE_TAGS: &[(&str, &str)] = &[
    ("#a;=2001+1", "2001+1"),
    ("#b\t=2002+1", "2002+1"),
    ("=2003+1", "2003+1"),
];
const HOSTILE_USER_IDS: &[(&str, &str)] = &[
    ("=3001+1", "3001+1"),
    ("u;=3002+1", "3002+1"),
    ("u\n=3003+1", "3003+1"),
];
const HOSTILE_IDS: &[(&str, &str)] = &[("p;=4001+1", "4001+1"), ("=4002+1", "4002+1")];

/// Pieces the generated cells are made of: every formula trigger, every separator and line
/// break, quotes, and plain text around them.
const PIECES: &[&str] = &[
    "=", "+", "-", "@", ";", "\t", "\r", "\n", "\r\n", "\0", "\"", ",", "'", " ", "1", "2+3", "x",
    "SUM(1)", "\u{FF1D}", "\u{FF0B}", "\u{FF0D}", "\u{FF20}",
];

/// Cells of 1–8 pieces from a fixed-seed xorshift, so every run writes the same file.
fn generated_cells(count: usize) -> Vec<String> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let pieces = 1 + next() % 8;
            (0..pieces)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect()
        })
        .collect()
}

fn hostile_posts() -> Vec<Post> {
    let at: DateTime<Utc> = "2019-07-21T22:30:00Z".parse().unwrap();
    let post = |id: &str, user_id: UserId, content: &str, tags: Vec<String>| Post {
        id: id.to_owned(),
        user_id,
        date_created: at,
        content: content.to_owned(),
        tags,
    };
    let mut posts: Vec<Post> = HOSTILE
        .iter()
        .map(|(content, _)| post("p-1", UserId::Int(7), content, vec![]))
        .collect();
    posts.extend(HOSTILE_TAGS.iter().map(|(tag, _)| {
        post(
            "p-2",
            UserId::Int(-7),
            "tags",
            vec!["#ok".into(), (*tag).into()],
        )
    }));
    posts.extend(
        HOSTILE_USER_IDS
            .iter()
            .map(|(user, _)| post("p-3", UserId::Text((*user).into()), "user", vec![])),
    );
    posts.extend(
        HOSTILE_IDS
            .iter()
            .map(|(id, _)| post(id, UserId::Int(1), "id", vec![])),
    );
    let generated = generated_cells(600);
    posts.extend(generated.chunks(3).map(|cells| {
        post(
            &cells[0],
            UserId::Text(cells[1].clone()),
            &cells[2],
            vec![cells[0].clone(), cells[2].clone()],
        )
    }));
    posts
}

/// The markers of [`HOSTILE`] and the other hand-written cells.
fn markers() -> impl Iterator<Item = &'static str> {
    HOSTILE
        .iter()
        .chain(HOSTILE_TAGS)
        .chain(HOSTILE_USER_IDS)
        .chain(HOSTILE_IDS)
        .map(|(_, marker)| *marker)
}

/// Writes the export exactly as the pipeline does: BOM and header, then one row per post.
fn export(posts: &[Post]) -> Vec<u8> {
    let options = ExportOptions {
        columns: vec![
            Column::Uuid,
            Column::UserID,
            Column::DateCreated,
            Column::Content,
            Column::Tags,
        ],
        excel_compatible: true,
        ..ExportOptions::default()
    };
    let mut encoder = RowEncoder::new(&options);
    let mut out = Vec::new();
    encoder.write_preamble(&mut out);
    for post in posts {
        encoder.write_post(post, &mut out);
    }
    out
}

fn soffice() -> String {
    std::env::var("SDE_SOFFICE").unwrap_or_else(|_| "soffice".to_owned())
}

/// Converts `csv` to a flat ODS with LibreOffice's CSV filter splitting on `separator`, and
/// returns the ODS text.
fn open_in_calc(csv: &Path, separator: u8, profile: &Path, out_dir: &Path) -> String {
    let mut child = match Command::new(soffice())
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .arg("--headless")
        // Separator code, `"` as the text delimiter, UTF-8, from line 1.
        .arg(format!("--infilter=CSV:{separator},34,76,1"))
        .args(["--convert-to", "fods", "--outdir"])
        .arg(out_dir)
        .arg(csv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{}` not found: this test needs LibreOffice Calc. Install it with \
             `apt-get install -y --no-install-recommends libreoffice-calc-nogui` \
             (scripts/test.sh does so when run as root), or set SDE_SOFFICE to its path",
            soffice()
        ),
        Err(error) => panic!("cannot start `{}`: {error}", soffice()),
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "soffice did not finish converting {} within 180 s",
                csv.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let fods = out_dir.join(csv.with_extension("fods").file_name().unwrap());
    assert!(
        output.status.success() && fods.exists(),
        "soffice failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read_to_string(fods).unwrap()
}

/// The ODS's cell contents with the XML escapes of `'`, `"`, `&`, `<` and `>` undone.
fn body_text(fods: &str) -> String {
    let body = &fods[fods.find("<office:body>").expect("an ODS body")..];
    body.replace("&apos;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The formulas LibreOffice made, each as its `table:formula="of:…"` attribute.
fn formulas(fods: &str) -> Vec<&str> {
    fods.match_indices("table:formula=\"")
        .map(|(at, found)| {
            let value = at + found.len();
            let end = fods[value..]
                .find('"')
                .map_or(fods.len(), |end| value + end);
            &fods[at..=end.min(fods.len() - 1)]
        })
        .collect()
}

#[test]
fn libreoffice_reads_no_formula_from_a_hostile_export_with_any_separator() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("export.csv");
    std::fs::write(&csv, export(&hostile_posts())).unwrap();
    let profile = dir.path().join("profile");
    // Every separator is tried before failing, so a failure shows them all.
    let mut failures = Vec::new();
    for (separator, name) in SEPARATORS {
        let fods = open_in_calc(&csv, separator, &profile, &dir.path().join(name));
        let formulas = formulas(&fods);
        if !formulas.is_empty() {
            failures.push(format!(
                "read with the {name} as separator, LibreOffice made {} formula cells, such as {:?}",
                formulas.len(),
                &formulas[..formulas.len().min(8)]
            ));
        }
        let text = body_text(&fods);
        let missing: Vec<&str> = markers().filter(|marker| !text.contains(marker)).collect();
        if !missing.is_empty() {
            failures.push(format!(
                "read with the {name} as separator, the sheet lacks the text {missing:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
