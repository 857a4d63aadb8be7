//! The dataset card (`README.md`, SPEC 9.4): YAML front matter serialised from
//! [`CardMetadata`], then a generated Markdown body saying how the data was made.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::PublishError;
use super::split::Split;
use super::stage::{DatasetSummary, SourceSummary};
use crate::schema::Source;

/// The card's YAML front matter, as the Hub reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardMetadata {
    /// A Hub licence id (`--license`, default `other`).
    pub license: String,
    /// Display name.
    pub pretty_name: String,
    /// Always `[en]`.
    pub language: Vec<String>,
    /// `[table-question-answering, question-answering]`.
    pub task_categories: Vec<String>,
    /// The fixed csvagent tags, then the used datasets' Kaggle keywords (sorted, unique).
    pub tags: Vec<String>,
    /// One of `n<1K`, `1K<n<10K`, `10K<n<100K`, `100K<n<1M`, `1M<n<10M`, from the episode rows.
    pub size_categories: Vec<String>,
    /// One config per source with rows (the first is the default), then `questions`.
    pub configs: Vec<CardConfig>,
}

/// One Hub dataset config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardConfig {
    /// `template`, `procedural`, `llm_gen` or `questions`.
    pub config_name: String,
    /// Set on the first config only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
    /// The files of each split.
    pub data_files: Vec<DataFiles>,
}

/// The files of one split of a config: a path glob relative to the repository root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFiles {
    /// Split name (`train`, `validation`, `test`; the source name in `questions`).
    pub split: String,
    /// Glob such as `data/template/train-*.parquet`.
    pub path: String,
}

/// Splits a card into its parsed front matter and its Markdown body.
///
/// # Errors
/// [`PublishError::Card`] when the text does not start with a `---` front matter block or the
/// YAML does not parse as [`CardMetadata`].
pub fn parse_card(text: &str) -> Result<(CardMetadata, String), PublishError> {
    let err = |message: &str| PublishError::Card {
        message: message.to_owned(),
    };
    let rest = text
        .strip_prefix("---\n")
        .ok_or_else(|| err("the card does not start with `---`"))?;
    let end = rest
        .find("\n---\n")
        .ok_or_else(|| err("the front matter has no closing `---`"))?;
    let meta: CardMetadata =
        serde_yaml_ng::from_str(&rest[..=end]).map_err(|e| err(&e.to_string()))?;
    Ok((meta, rest[end + 5..].to_owned()))
}

/// The `size_categories` bucket for `rows` episode rows.
pub fn size_category(rows: u64) -> &'static str {
    match rows {
        0..1_000 => "n<1K",
        1_000..10_000 => "1K<n<10K",
        10_000..100_000 => "10K<n<100K",
        100_000..1_000_000 => "100K<n<1M",
        _ => "1M<n<10M",
    }
}

/// The repository path glob of a source's split.
pub(crate) fn episode_glob(source: Source, split: Split) -> String {
    format!("data/{}/{}-*.parquet", source.as_str(), split.as_str())
}

/// The repository path glob of a source's questions.
pub(crate) fn question_glob(source: Source) -> String {
    format!("questions/{}-*.parquet", source.as_str())
}

/// Everything the card states, gathered by staging.
#[derive(Debug, Clone)]
pub(crate) struct CardInput<'a> {
    pub pretty_name: String,
    pub license: &'a str,
    pub repo: String,
    pub verified_only: bool,
    pub split_seed: u64,
    pub sources: &'a [SourceSummary],
    pub datasets: &'a [DatasetSummary],
    pub keywords: BTreeSet<String>,
    /// `name (host), temperature t, top_p p, max_tokens m` -> episodes.
    pub models: BTreeMap<String, u64>,
    pub csvagent_versions: BTreeSet<String>,
    /// image tag -> package pins.
    pub images: BTreeMap<String, BTreeMap<String, String>>,
    pub include_csvs: bool,
}

const FIXED_TAGS: [&str; 5] = [
    "tabular",
    "data-analysis",
    "code",
    "agent-traces",
    "csvagent",
];

/// The front matter for `input`.
pub(crate) fn metadata(input: &CardInput<'_>) -> CardMetadata {
    let mut configs = Vec::new();
    for summary in input.sources.iter().filter(|s| s.rows() > 0) {
        configs.push(CardConfig {
            config_name: summary.source.as_str().to_owned(),
            default: configs.is_empty(),
            data_files: summary
                .splits
                .iter()
                .filter(|(_, c)| c.episodes > 0)
                .map(|(split, _)| DataFiles {
                    split: split.as_str().to_owned(),
                    path: episode_glob(summary.source, *split),
                })
                .collect(),
        });
    }
    let question_files: Vec<DataFiles> = input
        .sources
        .iter()
        .filter(|s| s.questions > 0)
        .map(|s| DataFiles {
            split: s.source.as_str().to_owned(),
            path: question_glob(s.source),
        })
        .collect();
    if !question_files.is_empty() {
        configs.push(CardConfig {
            config_name: "questions".to_owned(),
            default: false,
            data_files: question_files,
        });
    }
    let mut tags: Vec<String> = FIXED_TAGS.iter().map(|t| (*t).to_owned()).collect();
    tags.extend(
        input
            .keywords
            .iter()
            .filter(|k| !FIXED_TAGS.contains(&k.as_str()))
            .cloned(),
    );
    let rows: u64 = input.sources.iter().map(SourceSummary::rows).sum();
    CardMetadata {
        license: input.license.to_owned(),
        pretty_name: input.pretty_name.clone(),
        language: vec!["en".to_owned()],
        task_categories: vec![
            "table-question-answering".to_owned(),
            "question-answering".to_owned(),
        ],
        tags,
        size_categories: vec![size_category(rows).to_owned()],
        configs,
    }
}

/// A Markdown table cell: pipes escaped, line breaks flattened.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        .trim()
        .to_owned()
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".to_owned()
    } else {
        format!("{:.1} %", part as f64 * 100.0 / whole as f64)
    }
}

/// The whole card: `---`, the YAML front matter, `---`, the Markdown body.
///
/// # Errors
/// [`PublishError::Card`] if the front matter cannot be serialised.
pub(crate) fn render(input: &CardInput<'_>) -> Result<String, PublishError> {
    let meta = metadata(input);
    let yaml = serde_yaml_ng::to_string(&meta).map_err(|e| PublishError::Card {
        message: e.to_string(),
    })?;
    let mut out = format!("---\n{yaml}---\n\n");
    body(input, &meta, &mut out);
    Ok(out)
}

fn body(input: &CardInput<'_>, meta: &CardMetadata, out: &mut String) {
    let rows: u64 = input.sources.iter().map(SourceSummary::rows).sum();
    let verified: u64 = input.sources.iter().map(SourceSummary::verified_rows).sum();
    let _ = writeln!(out, "# {}\n", input.pretty_name);
    let _ = writeln!(
        out,
        "Multi-turn data-analysis episodes made with [csvagent](https://github.com/csvagent/csvagent): \
         a teacher LLM answers a question about a real CSV table by writing Python that runs in an \
         isolated sandbox, turn by turn, until it submits an answer; the answer is then verified. \
         This repository holds {rows} episode rows ({verified} verified) over {} datasets{}.\n",
        input.datasets.len(),
        if input.verified_only {
            ", verified episodes only"
        } else {
            ", verified and unverified episodes (see the `verified` column)"
        }
    );

    if let Some(first) = meta.configs.first() {
        let _ = writeln!(
            out,
            "```python\nfrom datasets import load_dataset\n\n\
             episodes = load_dataset(\"{}\", \"{}\")\n```\n",
            input.repo, first.config_name
        );
    }

    let _ = writeln!(out, "## Sources and what `verified` means\n");
    let _ = writeln!(
        out,
        "- **template**: questions instantiated from hand-written analysis templates; a trusted \
         reference program computed the ground truth.\n\
         - **procedural**: questions compiled from typed operator chains; a trusted reference \
         program computed the ground truth.\n\
         - **llm_gen**: questions written by an LLM after exploring the table; there is no \
         reference program.\n\n\
         For template and procedural episodes, `verified` means the teacher's (hinted) gold \
         answer equals an accepted answer of the reference program, by hash or by the tolerant \
         matcher. For llm_gen episodes, it means a strict majority of independent un-hinted \
         consistency traces agreed and the hinted gold answer matches that majority.\n"
    );

    let _ = writeln!(out, "## Configurations and files\n");
    let _ = writeln!(out, "| config | split | files |\n|---|---|---|");
    for config in &meta.configs {
        for files in &config.data_files {
            let _ = writeln!(
                out,
                "| `{}`{} | `{}` | `{}` |",
                config.config_name,
                if config.default { " (default)" } else { "" },
                files.split,
                files.path
            );
        }
    }
    if input.include_csvs {
        let _ = writeln!(
            out,
            "\nThe source tables are included as `datasets/<dataset>/data.csv` with their \
             `meta.json`."
        );
    }
    let _ = writeln!(
        out,
        "\nSplits are by dataset, so no table appears in two splits: a dataset's split is decided \
         by the first 8 bytes of SHA-256(`\"{}:<dataset_hash>\"`) read as a fraction \
         (< 0.8 train, < 0.9 validation, else test). The assignment stays stable as data grows.\n",
        input.split_seed
    );

    let _ = writeln!(out, "## Row fields\n");
    let _ = writeln!(
        out,
        "Episode rows (`data/<source>/*.parquet`):\n\n\
         - `episode_id`, `timestamp` (RFC 3339 UTC), `source`, `dataset`, `dataset_hash` \
         (SHA-256 of the CSV bytes), `question_id`, `question_text` (the prompt the teacher saw), \
         `hint`, `difficulty`, `n_steps`, `output_schema`, `template_name`, `program_name`;\n\
         - `verified`, `verification_method`, `matched_by`;\n\
         - `ground_truth` and `final_answer`: canonical JSON text (RFC 8785), because answers are \
         polymorphic; `final_answer_hash` is the first 16 hex chars of its SHA-256;\n\
         - `stop_reason`, `n_turns`, `turns` (list of structs: `turn_index`, `reasoning`, `code`, \
         `status`, `success`, `stdout`, `stderr`, `submitted_answer`, `hooks` as a list of \
         structs), `messages` (the gold trace's full transcript as `{{role, content}}` structs);\n\
         - `triangulation` and `timing` (structs, seconds), `model` (teacher name and sampling), \
         `csvagent_version`, `image_tag`.\n\n\
         Question rows (`questions/<source>-*.parquet`): `id`, `source`, `dataset`, \
         `dataset_hash`, `question_text`, `hint`, `difficulty`, `n_steps`, `output_schema`, \
         `ground_truth`, `ground_truth_hashes`, `accepted_answers`, `template_name`, \
         `program_name`, `program_ops`.\n"
    );

    let _ = writeln!(out, "## Counts\n");
    let _ = writeln!(
        out,
        "| source | split | episodes | verified | unverified |\n|---|---|---|---|---|"
    );
    for summary in input.sources.iter().filter(|s| s.rows() > 0) {
        for (split, counts) in &summary.splits {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                summary.source.as_str(),
                split,
                counts.episodes,
                counts.verified,
                counts.episodes - counts.verified
            );
        }
    }
    let _ = writeln!(
        out,
        "\nVerification rate of everything generated (before selection):\n\n\
         | source | episodes generated | verified | rate | questions |\n|---|---|---|---|---|"
    );
    for summary in input.sources {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            summary.source.as_str(),
            summary.episodes_read,
            summary.verified_read,
            percent(summary.verified_read, summary.episodes_read),
            summary.questions
        );
    }

    let _ = writeln!(out, "\n## Datasets used\n");
    let _ = writeln!(
        out,
        "| dataset | split | episodes | title | source | licence |\n|---|---|---|---|---|---|"
    );
    for d in input.datasets {
        let source = match (&d.reference, &d.url) {
            (Some(r), Some(u)) => format!("[{}]({})", cell(r), cell(u)),
            (Some(r), None) => cell(r),
            (None, Some(u)) => format!("<{}>", cell(u)),
            (None, None) => "–".to_owned(),
        };
        let licences = if d.licenses.is_empty() {
            "not stated in `meta.json`".to_owned()
        } else {
            cell(&d.licenses.join(", "))
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            cell(&d.name),
            d.split,
            d.episodes,
            cell(d.title.as_deref().unwrap_or("–")),
            source,
            licences
        );
    }

    let _ = writeln!(out, "\n## How it was made\n");
    let versions: Vec<&str> = input.csvagent_versions.iter().map(String::as_str).collect();
    let _ = writeln!(
        out,
        "- csvagent version: {} (this card was written by csvagent {})",
        if versions.is_empty() {
            "not recorded".to_owned()
        } else {
            versions.join(", ")
        },
        env!("CARGO_PKG_VERSION")
    );
    if input.models.is_empty() {
        let _ = writeln!(out, "- teacher models: not recorded on these episodes");
    } else {
        let _ = writeln!(out, "- teacher models and sampling:");
        for (model, n) in &input.models {
            let _ = writeln!(out, "  - {model}: {n} episodes");
        }
    }
    if input.images.is_empty() {
        let _ = writeln!(out, "- sandbox image: not recorded on these episodes");
    } else {
        for (tag, pins) in &input.images {
            let pins: Vec<String> = pins.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(out, "- sandbox image `{tag}`: {}", pins.join(", "));
        }
    }
    let _ = writeln!(
        out,
        "- answer matching: exact canonical-JSON hash first, then the tolerant matcher \
         (csvagent defaults: relative 1e-3 plus absolute 1e-6, p-values 2e-3; a run's \
         configuration may override them)\n\
         - split seed: {}\n",
        input.split_seed
    );

    let _ = writeln!(out, "## Limitations\n");
    let _ = writeln!(
        out,
        "- Verification checks the final answer, not every intermediate step; a verified trace \
         can still contain inefficient or partly wrong reasoning.\n\
         - llm_gen questions have no reference program: agreement between traces of one teacher \
         is evidence, not proof.\n\
         - Answers were computed on the exact CSV bytes named by `dataset_hash`; tables may have \
         changed upstream since.\n\
         - The tables come from public Kaggle datasets under their own licences (see above); \
         check them before redistributing the CSVs.\n\
         - Questions and traces are in English and reflect one teacher model's style."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_categories_follow_the_hub_buckets() {
        assert_eq!(size_category(0), "n<1K");
        assert_eq!(size_category(999), "n<1K");
        assert_eq!(size_category(1_000), "1K<n<10K");
        assert_eq!(size_category(99_999), "10K<n<100K");
        assert_eq!(size_category(100_000), "100K<n<1M");
        assert_eq!(size_category(5_000_000), "1M<n<10M");
    }

    #[test]
    fn a_card_without_front_matter_is_rejected() {
        let err = parse_card("# title\n").unwrap_err().to_string();
        assert!(err.contains("does not start with `---`"), "{err}");
        let err = parse_card("---\nlicense: x\n").unwrap_err().to_string();
        assert!(err.contains("no closing"), "{err}");
    }

    #[test]
    fn table_cells_escape_pipes_and_newlines() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
