//! The HTML report opened in headless Chromium: it renders offline without console errors, its
//! DOM shows every indicator of the plan with the regions' names, and its screenshot is a real
//! page. The page and the screenshot are kept under the target directory for a look.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::*;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs headless Chromium on `page` with `args`, a fresh profile and console messages logged to
/// stderr.
async fn chromium(page: &Path, args: &[&str]) -> Output {
    let profile = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(CHROMIUM);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("chromium finished within 120 s")
        .expect("chromium started")
}

/// Console messages the page produced, as Chromium logs them (`…:CONSOLE…] "message", source:
/// …`).
fn console_messages(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect()
}

fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

fn chromium_present() -> bool {
    if Path::new(CHROMIUM).exists() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{CHROMIUM} is missing: CI installs it (apt-get install chromium) to check the HTML report"
    );
    eprintln!(
        "\n\n*** SKIPPED: {CHROMIUM} is missing, the HTML report was NOT checked in a browser ***\n\
         *** install it with `apt-get install -y chromium` ***\n\n"
    );
    false
}

#[tokio::test]
async fn html_report_renders_in_a_browser() {
    if !chromium_present() {
        return;
    }
    let mut env = env().await;
    standard_facilities(&env).await;
    let round = answered_round(&env).await;
    let plan = national(&mut env).await;
    let e = evaluate(&mut env, &plan, "2023-12-31", &round).await;
    let report = env
        .evaluations
        .render_report(pb::RenderReportRequest {
            evaluation: e.name.clone(),
            division: DONGCHENG.into(),
            format: pb::ReportFormat::Html as i32,
            worst_regions: 3,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.content_type, "text/html; charset=utf-8");

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html_report");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");
    let screenshot = dir.join("report.png");
    std::fs::write(&page, &report.content).unwrap();
    let _ = std::fs::remove_file(&screenshot);

    // The console check must be able to fail: a page that logs an error is caught.
    let probe = dir.join("probe.html");
    std::fs::write(
        &probe,
        "<!DOCTYPE html><meta charset=\"utf-8\"><script>console.error(\"probe\")</script>",
    )
    .unwrap();
    let probed = chromium(&probe, &["--dump-dom"]).await;
    assert!(
        console_messages(&probed)
            .iter()
            .any(|m| m.contains("probe")),
        "chromium logs console messages on stderr: {}",
        String::from_utf8_lossy(&probed.stderr)
    );

    let shot = chromium(
        &page,
        &[
            "--window-size=1280,2400",
            &format!("--screenshot={}", screenshot.display()),
        ],
    )
    .await;
    assert!(shot.status.success(), "{shot:?}");
    assert_eq!(console_messages(&shot), Vec::<String>::new());
    let png = std::fs::read(&screenshot).expect("a screenshot was written");
    assert_eq!(png_size(&png), (1280, 2400));
    // A blank or near-blank page compresses to a few kilobytes.
    assert!(png.len() > 60_000, "screenshot of {} bytes", png.len());

    let dumped = chromium(&page, &["--dump-dom"]).await;
    assert!(dumped.status.success(), "{dumped:?}");
    assert_eq!(console_messages(&dumped), Vec::<String>::new());
    let dom = String::from_utf8(dumped.stdout).unwrap();

    // Every indicator of the plan is on the board and charted, with its Chinese name.
    let names: HashMap<String, String> = env
        .indicators
        .list_indicators(pb::ListIndicatorsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .indicators
        .into_iter()
        .map(|i| (i.name, i.display_name))
        .collect();
    let results = division(&mut env, &e.name, DONGCHENG).await;
    assert!(results.len() >= 12, "{}", results.len());
    for code in results.keys() {
        let attribute = format!("data-indicator=\"{code}\"");
        assert_eq!(dom.matches(&attribute).count(), 2, "{code}: card and chart");
        let name = &names[&format!("indicators/{code}")];
        assert!(dom.contains(name.as_str()), "{code}: {name}");
    }
    // The page was read as UTF-8, with the regions' names from the registry, and a chart per
    // indicator with a bar per township.
    assert!(dom.contains("东城区"), "the division's name");
    assert!(dom.contains("前门街道"), "a township's name");
    assert_eq!(dom.matches("<svg class=\"chart\"").count(), results.len());
    assert!(dom.contains("滞后地区"));
    assert!(!dom.contains("没有低于期望值的下一级地区"));
}
