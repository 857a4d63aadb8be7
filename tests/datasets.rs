//! Dataset catalogue on real and messy input (issue 4): discovery, detection, host checks.

#![allow(
    clippy::unwrap_used,
    reason = "integration test code: a panic is a test failure"
)]

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

mod sandboxed {
    use super::support;
    use csvagent_sdk::dataset::{Catalog, ColumnStats, Profile};
    use csvagent_sdk::events::EventSink;
    use csvagent_sdk::sandbox::{ExecMode, SandboxConfig, SandboxPool};
    use std::collections::BTreeMap;
    use std::time::Duration;

    async fn profiles(dir: &std::path::Path) -> (BTreeMap<String, Profile>, SandboxPool) {
        let cat = Catalog::discover(dir).unwrap();
        let cfg = SandboxConfig {
            datasets_root: dir.to_path_buf(),
            max_containers: 1,
            workers_per_container: 2,
            ..SandboxConfig::default()
        };
        let pool = SandboxPool::new(cfg, EventSink::discard());
        pool.start().await.unwrap();
        let mut out = BTreeMap::new();
        for ds in &cat.datasets {
            let lease = pool
                .acquire(&ds.load_spec())
                .await
                .unwrap_or_else(|e| panic!("{} should load: {e}", ds.name));
            out.insert(
                ds.name.clone(),
                lease
                    .profile()
                    .await
                    .unwrap_or_else(|e| panic!("{} should profile: {e}", ds.name)),
            );
        }
        (out, pool)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_messy_fixture_loads_correctly_in_the_sandbox() {
        if !support::require_docker("every_messy_fixture_loads_correctly_in_the_sandbox") {
            return;
        }
        let dir = support::repo_root().join("tests/fixtures/messy");
        let (p, pool) = profiles(&dir).await;
        assert_eq!(p.len(), 14);
        let col = |d: &str, c: &str| {
            p[d].columns
                .get(c)
                .unwrap_or_else(|| panic!("{d}: no column {c}: {:?}", p[d].columns.keys()))
        };
        assert_eq!(
            p["bom"].columns.keys().collect::<Vec<_>>(),
            ["id", "score", "group"],
            "BOM stripped from the first name"
        );
        assert!(
            col("semicolon_decimal_comma", "price").is_numeric(),
            "decimal commas parse as numbers"
        );
        if let ColumnStats::Numeric { max, .. } = &col("semicolon_decimal_comma", "price").stats {
            assert!(max.unwrap() < 101.0, "33,06 reads as 33.06, not 3306");
        }
        assert_eq!(p["tab_named_csv"].shape.columns, 3);
        assert_eq!(p["quoted_newlines"].shape.rows, 60);
        assert_eq!(p["duplicate_empty_whitespace_names"].shape.columns, 5);
        let names: std::collections::BTreeSet<_> = p["duplicate_empty_whitespace_names"]
            .columns
            .keys()
            .collect();
        assert_eq!(names.len(), 5, "column names are made unique");
        assert_eq!(col("trailing_delimiter", "Unnamed: 3").type_name(), "empty");
        assert_eq!(
            col("ragged_rows", "c").missing_count,
            12,
            "short rows leave NaN, not a crash"
        );
        assert_eq!(
            col("leading_zero_ids", "zip").dtype,
            "object",
            "leading zeros are kept as text"
        );
        assert_eq!(
            col("na_sentinels", "a").missing_count,
            15,
            "NA, N/A and null are missing values"
        );
        assert!(col("na_sentinels", "a").is_numeric());
        assert_eq!(
            col("big_integers", "big").dtype,
            "object",
            "integers beyond 64 bits keep their digits"
        );
        assert!(col("booleans", "flag").is_boolean && col("booleans", "Flag2").is_boolean);
        assert!(col("currency", "price").is_numeric() && col("currency", "price").is_currency);
        assert!(col("latin1", "city").is_categorical());
        assert_eq!(p["mixed_dates"].shape.rows, 60);

        // What the profile says is what the code sees.
        let cat = Catalog::discover(&dir).unwrap();
        let lease = pool
            .acquire(&cat.get("big_integers").unwrap().load_spec())
            .await
            .unwrap();
        let w = lease.worker().await.unwrap();
        let r = w
            .exec("df['big'][0]", ExecMode::Agent, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(r.result_repr.as_deref(), Some("'1180591620717411303424'"));
        drop((w, lease)); // one container: release it before loading the next dataset
        let lease = pool
            .acquire(&cat.get("leading_zero_ids").unwrap().load_spec())
            .await
            .unwrap();
        let w = lease.worker().await.unwrap();
        let r = w
            .exec("df['zip'][7]", ExecMode::Agent, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(r.result_repr.as_deref(), Some("'00007'"));
        drop((w, lease));
        pool.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn all_eleven_shared_datasets_profile_through_the_catalogue() {
        let test = "all_eleven_shared_datasets_profile_through_the_catalogue";
        if !support::require_docker(test) {
            return;
        }
        let Some(dir) = support::require_shared_datasets(test) else {
            return;
        };
        let (p, pool) = profiles(&dir).await;
        assert_eq!(p.len(), 11);
        assert_eq!(
            p["imakash3011_customer-personality-analysis"].shape.columns,
            29
        );
        assert!(p["abcsds_pokemon"].columns["Legendary"].is_boolean);
        assert!(
            p["abcsds_pokemon"].columns["Legendary"].is_categorical(),
            "bool is categorical, not numeric"
        );
        assert_eq!(
            p["uciml_breast-cancer-wisconsin-data"].columns["Unnamed: 32"].type_name(),
            "empty"
        );
        assert!(p["fedesoriano_stroke-prediction-dataset"].columns["bmi"].is_numeric());
        assert_eq!(
            p["fedesoriano_stroke-prediction-dataset"].columns["bmi"].missing_count,
            201
        );
        assert!(
            p["pavansubhasht_ibm-hr-analytics-attrition-dataset"]
                .columns
                .contains_key("Age"),
            "BOM stripped"
        );
        pool.stop().await;
    }
}
