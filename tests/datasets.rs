//! Dataset catalogue on real and messy input (issue 4): discovery, detection, host checks.

#![allow(clippy::unwrap_used, reason = "integration test code: a panic is a test failure")]

mod support;

use csvagent_sdk::dataset::Catalog;

#[test]
fn all_eleven_shared_datasets_are_discovered_with_their_dialects() {
    let Some(dir) = support::require_shared_datasets(
        "all_eleven_shared_datasets_are_discovered_with_their_dialects",
    ) else {
        return;
    };
    let cat = Catalog::discover(&dir).unwrap();
    assert!(
        cat.skipped.is_empty(),
        "unexpected skips: {:?}",
        cat.skipped
    );
    assert_eq!(cat.datasets.len(), 11);
    let names: Vec<&str> = cat.datasets.iter().map(|d| d.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "discovery order is by folder name");
    let get = |n: &str| cat.get(n).unwrap();
    assert_eq!(
        get("imakash3011_customer-personality-analysis")
            .dialect
            .delimiter,
        '\t'
    );
    assert_eq!(
        get("pavansubhasht_ibm-hr-analytics-attrition-dataset")
            .dialect
            .encoding,
        "utf-8-sig"
    );
    assert_eq!(get("mirichoi0218_insurance").dialect.encoding, "utf-8");
    for ds in &cat.datasets {
        assert_eq!(ds.dataset_hash.len(), 64);
        assert!(
            !ds.description.is_empty(),
            "{} has a description from meta.json",
            ds.name
        );
        if ds.name != "imakash3011_customer-personality-analysis" {
            assert_eq!(ds.dialect.delimiter, ',', "{}", ds.name);
        }
    }
    let shape = get("imakash3011_customer-personality-analysis")
        .host_shape()
        .unwrap();
    assert_eq!((shape.rows, shape.columns), (2240, 29));
    let shape = get("mirichoi0218_insurance").host_shape().unwrap();
    assert_eq!((shape.rows, shape.columns), (1338, 7));
}

#[test]
fn messy_fixtures_are_usable_or_skipped_with_a_reason() {
    let dir = support::repo_root().join("tests/fixtures/messy");
    let cat = Catalog::discover(&dir).unwrap();
    let skipped: Vec<(&str, &str)> = cat
        .skipped
        .iter()
        .map(|s| (s.name.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        vec![("empty", "empty file"), ("header_only", "no data rows")]
    );
    let d = |n: &str| &cat.get(n).unwrap().dialect;
    assert_eq!(d("bom").encoding, "utf-8-sig");
    assert_eq!(d("latin1").encoding, "cp1252");
    assert_eq!(
        (
            d("semicolon_decimal_comma").delimiter,
            d("semicolon_decimal_comma").decimal
        ),
        (';', ',')
    );
    assert_eq!(d("tab_named_csv").delimiter, '\t');
    assert_eq!(d("currency").decimal, '.');
    let shape = cat.get("quoted_newlines").unwrap().host_shape().unwrap();
    assert_eq!(
        (shape.rows, shape.columns),
        (60, 3),
        "embedded newlines do not add rows"
    );
    assert_eq!(
        cat.get("trailing_delimiter")
            .unwrap()
            .host_shape()
            .unwrap()
            .columns,
        4
    );
    let err = cat.get("header_only").unwrap_err().to_string();
    assert_eq!(err, "dataset `header_only` is not usable: no data rows");
}
