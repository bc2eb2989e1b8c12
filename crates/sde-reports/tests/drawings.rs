//! The reports' drawings read back the way their readers read them: the chart parsed by usvg
//! (the SVG library browsers' rendering is checked against in resvg's test suite) and rendered
//! by resvg, the PDF opened by lopdf.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use resvg::tiny_skia::Pixmap;
use resvg::usvg;
use sde_core::{Bucket, BucketCount, TagCount, TopTags, fill_buckets};
use sde_reports::{PostFrequency, Trending, font_database, post_frequency_svg, trending_pdf};
use std::sync::Arc;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn options() -> usvg::Options<'static> {
    usvg::Options {
        font_family: "DejaVu Sans".to_owned(),
        fontdb: Arc::new(font_database()),
        ..usvg::Options::default()
    }
}

/// 24 hourly bars of 21 July 2019, posts rising through the day (1,200 posts in all).
fn a_day() -> (DateTime<Utc>, DateTime<Utc>, Vec<BucketCount>) {
    let from = at("2019-07-21T00:00:00Z");
    let to = from + Duration::days(1);
    let counts: Vec<BucketCount> = (0..24)
        .map(|hour| BucketCount {
            start: from + Duration::hours(hour),
            posts: 2 + 4 * hour as u64,
        })
        .collect();
    (from, to, fill_buckets(Bucket::Hour, from, to, &counts))
}

/// The text of every `<text>` element, trimmed, in document order.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|element| {
            let (_, rest) = element.split_once('>')?;
            let (content, _) = rest.split_once("</text>")?;
            Some(content.trim().to_owned())
        })
        .collect()
}

/// Pixels that are clearly not the white background, and those in the bars' blue.
fn inked(svg: &str) -> (usize, usize) {
    let tree = usvg::Tree::from_str(svg, &options()).unwrap();
    let size = tree.size().to_int_size();
    let mut pixmap = Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(&tree, Default::default(), &mut pixmap.as_mut());
    let pixels = pixmap.pixels();
    let ink = pixels
        .iter()
        .filter(|p| p.red() < 200 || p.green() < 200 || p.blue() < 200)
        .count();
    let blue = pixels
        .iter()
        .filter(|p| p.blue() > 180 && p.red() < 80 && p.green() < 140)
        .count();
    (ink, blue)
}

#[test]
fn the_chart_is_a_standalone_svg_with_a_view_box_title_and_desc_and_no_script() {
    let (from, to, bars) = a_day();
    let svg = post_frequency_svg(&PostFrequency {
        bucket: Bucket::Hour,
        from,
        to,
        bars: &bars,
    });
    assert!(svg.contains(r#"viewBox="0 0 960 540""#), "{svg}");
    assert!(svg.contains("<title>Posts per hour</title>"));
    assert!(
        svg.contains(
            "<desc>Posts per hour from 21 Jul 2019 00:00 UTC to 22 Jul 2019 00:00 UTC: \
             1,152 posts in total, 24 bars.</desc>"
        ),
        "{svg}"
    );
    let lowered = svg.to_lowercase();
    for forbidden in ["<script", "javascript:", " onload=", " onclick=", "href="] {
        assert!(!lowered.contains(forbidden), "{forbidden} in the chart");
    }
    // Tick labels in UTC: the hours, the day under the first one, and the axis caption.
    let labels = texts(&svg);
    for label in ["00:00", "21 Jul", "12:00", "Time (UTC), one bar per hour"] {
        assert!(
            labels.iter().any(|text| text == label),
            "{label} missing from {labels:?}"
        );
    }
    let tree = usvg::Tree::from_str(&svg, &options()).unwrap();
    assert_eq!((tree.size().width(), tree.size().height()), (960.0, 540.0));
}

#[test]
fn every_bar_stays_inside_the_plot_and_the_tallest_reaches_its_value() {
    let (from, to, bars) = a_day();
    let svg = post_frequency_svg(&PostFrequency {
        bucket: Bucket::Hour,
        from,
        to,
        bars: &bars,
    });
    let tree = usvg::Tree::from_str(&svg, &options()).unwrap();
    let bbox = |id: &str| {
        tree.node_by_id(id)
            .unwrap_or_else(|| panic!("no {id}"))
            .abs_bounding_box()
    };
    let (x_axis, y_axis) = (bbox("x-axis"), bbox("y-axis"));
    let mut heights = Vec::new();
    for i in 0..24 {
        let bar = bbox(&format!("bar-{i}"));
        assert!(
            bar.left() >= y_axis.left() - 0.01,
            "bar {i} left of the plot"
        );
        assert!(
            bar.right() <= x_axis.right() + 0.01,
            "bar {i} right of the plot"
        );
        assert!(bar.top() >= y_axis.top() - 0.01, "bar {i} above the plot");
        assert!(
            bar.bottom() <= x_axis.bottom() + 0.01,
            "bar {i} below the axis"
        );
        heights.push(bar.height());
    }
    assert!(
        heights.windows(2).all(|pair| pair[0] < pair[1]),
        "heights follow the counts: {heights:?}"
    );
    assert!(bars.iter().all(|bar| bar.posts > 0));
    let (ink, blue) = inked(&svg);
    assert!(blue > 10_000, "the bars are drawn: {blue} blue pixels");
    assert!(
        ink > blue + 1_000,
        "text and axes are drawn: {ink} inked pixels"
    );
}

#[test]
fn an_empty_range_draws_a_chart_that_says_so() {
    let from = at("2019-07-21T00:00:00Z");
    let to = from + Duration::days(7);
    let bars = fill_buckets(Bucket::Day, from, to, &[]);
    let svg = post_frequency_svg(&PostFrequency {
        bucket: Bucket::Day,
        from,
        to,
        bars: &bars,
    });
    assert!(svg.contains("No posts in this range"));
    assert!(svg.contains("0 posts in total, 7 bars."), "{svg}");
    assert!(!svg.contains("bar-0"), "no bar is drawn");
    let (ink, blue) = inked(&svg);
    assert_eq!(blue, 0, "no bar is drawn");
    assert!(ink > 2_000, "axes, labels and the message are drawn: {ink}");
}

#[test]
fn long_ranges_label_some_bars_with_the_larger_unit_when_it_changes() {
    let from = at("2018-11-01T00:00:00Z");
    let to = at("2019-03-01T00:00:00Z");
    let counts = [BucketCount {
        start: at("2019-01-15T00:00:00Z"),
        posts: 3,
    }];
    let bars = fill_buckets(Bucket::Month, from, to, &counts);
    let svg = post_frequency_svg(&PostFrequency {
        bucket: Bucket::Month,
        from,
        to,
        bars: &bars,
    });
    let labels = texts(&svg);
    for label in ["Nov", "2018", "Jan", "2019", "Feb"] {
        assert!(
            labels.iter().any(|text| text == label),
            "{label} missing from {labels:?}"
        );
    }
    let years = labels.iter().filter(|text| *text == "2019").count();
    assert_eq!(years, 1, "the year once, where it changes");
}

fn squeezed(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn tag(tag: &str, posts: u64) -> TagCount {
    TagCount {
        tag: tag.into(),
        posts,
    }
}

#[test]
fn the_trending_pdf_is_one_a4_page_with_embedded_fonts_and_the_table_of_counts() {
    let top = TopTags {
        posts: 40,
        tags: vec![
            tag("#cats", 30),
            tag("#dogs", 12),
            tag("#ünïcödé", 5),
            tag("#a&b<c>", 1),
        ],
    };
    let pdf = trending_pdf(&Trending {
        from: at("2019-07-21T00:00:00Z"),
        to: at("2019-07-22T00:00:00Z"),
        top: &top,
    })
    .unwrap();
    let document = lopdf::Document::load_mem(&pdf).unwrap();
    let pages = document.get_pages();
    assert_eq!(pages.len(), 1);
    let page = document.get_dictionary(pages[&1]).unwrap();
    let media_box: Vec<f32> = page
        .get(b"MediaBox")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_float().unwrap())
        .collect();
    assert!(
        (media_box[2] - 595.28).abs() < 0.5 && (media_box[3] - 841.89).abs() < 0.5,
        "A4: {media_box:?}"
    );

    let embedded = document.objects.values().any(|object| {
        object
            .as_dict()
            .is_ok_and(|dict| dict.has(b"FontFile2") || dict.has(b"FontFile3"))
    });
    assert!(embedded, "the font program is in the file");

    // svg2pdf places glyphs one by one, so the extracted text has spaces between letters:
    // compare without any whitespace.
    let flat = squeezed(&document.extract_text(&[1]).unwrap());
    assert!(flat.contains(&squeezed("Trending tags")), "{flat}");
    assert!(
        flat.contains(&squeezed("21 Jul 2019 00:00 – 22 Jul 2019 00:00 UTC")),
        "{flat}"
    );
    let (_, table) = flat
        .split_once(&squeezed("Tag Posts Share"))
        .expect("the table's header");
    let mut rest = table;
    for row in [
        "#cats 30 75.0 %",
        "#dogs 12 30.0 %",
        "#ünïcödé 5 12.5 %",
        "#a&b<c> 1 2.5 %",
    ] {
        let row = squeezed(row);
        let at = rest
            .find(&row)
            .unwrap_or_else(|| panic!("row {row:?} missing from {table}"));
        rest = &rest[at + row.len()..];
    }
}

#[test]
fn a_trending_pdf_of_nothing_says_there_were_no_tagged_posts() {
    let pdf = trending_pdf(&Trending {
        from: at("2019-07-21T00:00:00Z"),
        to: at("2019-07-22T00:00:00Z"),
        top: &TopTags::default(),
    })
    .unwrap();
    let document = lopdf::Document::load_mem(&pdf).unwrap();
    let flat = squeezed(&document.extract_text(&[1]).unwrap());
    assert!(
        flat.contains(&squeezed("No tagged posts in this range")),
        "{flat}"
    );
}
