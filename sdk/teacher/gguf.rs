//! Loading a GGUF chat model with candle: the weights (`llama` or `qwen2` architecture), the
//! tokenizer built from the file's `tokenizer.ggml.*` metadata, the chat template and the
//! end-of-turn tokens.

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use candle_core::Device;
use candle_core::quantized::gguf_file::{self, Content, Value};
use candle_core::quantized::tokenizer::TokenizerFromGguf;
use candle_core::quantized::{GgmlDType, QTensor};
use tokenizers::Tokenizer;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;

use super::TeacherError;
use super::chat_template::ChatTemplate;
use super::decoder::Decoder;

/// The architectures the embedded teacher runs (`general.architecture`).
pub(crate) const SUPPORTED_ARCHITECTURES: [&str; 2] = ["llama", "qwen2"];

/// Most tokens of context the embedded teacher uses, whatever the file declares (bounds the
/// rotary tables and the attention caches).
const MAX_CONTEXT: usize = 32_768;

/// Control tokens that end an assistant turn in common chat formats, besides the file's
/// `eos`/`eot` ids.
const END_OF_TURN_TOKENS: [&str; 5] = [
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|end|>",
    "<end_of_turn>",
];

/// Everything loaded from one GGUF file.
pub(crate) struct LoadedModel {
    pub weights: Decoder,
    pub tokenizer: Tokenizer,
    pub template: ChatTemplate,
    /// Token ids that end generation.
    pub stop_ids: Vec<u32>,
    /// `general.architecture`.
    pub architecture: String,
    /// Most tokens (prompt + reply) the model can attend to here.
    pub context_tokens: usize,
}

/// Loads `path` on the CPU.
///
/// # Errors
/// [`TeacherError::ModelNotFound`], [`TeacherError::NotGguf`],
/// [`TeacherError::UnsupportedArchitecture`], [`TeacherError::ModelLoad`].
pub(crate) fn load(path: &Path) -> Result<LoadedModel, TeacherError> {
    let load_err = |detail: String| TeacherError::ModelLoad {
        path: path.to_path_buf(),
        detail,
    };
    if !path.is_file() {
        return Err(TeacherError::ModelNotFound {
            path: path.to_path_buf(),
        });
    }
    let file = File::open(path).map_err(|e| load_err(e.to_string()))?;
    let mut reader = BufReader::new(file);
    let mut magic = [0u8; 4];
    if reader.read_exact(&mut magic).is_err() || &magic != b"GGUF" {
        return Err(TeacherError::NotGguf {
            path: path.to_path_buf(),
            detail: "it does not start with the `GGUF` magic bytes".into(),
        });
    }
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|e| load_err(e.to_string()))?;
    let content = Content::read(&mut reader).map_err(|e| TeacherError::NotGguf {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let architecture = meta_string(&content, "general.architecture")
        .ok_or_else(|| load_err("no `general.architecture` in its metadata".into()))?;
    if !SUPPORTED_ARCHITECTURES.contains(&architecture.as_str()) {
        return Err(TeacherError::UnsupportedArchitecture {
            path: path.to_path_buf(),
            architecture,
        });
    }
    // The tokenizers crate panics on some malformed vocabularies; a bad file must be an error.
    let tokenizer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tokenizer_from_gguf(&content)
    }))
    .unwrap_or_else(|_| Err("its tokenizer metadata is malformed".to_string()))
    .map_err(load_err)?;
    let tokens = content
        .metadata
        .get("tokenizer.ggml.tokens")
        .and_then(|v| v.to_vec().ok())
        .map(|v| {
            v.iter()
                .map(|t| t.to_string().cloned().unwrap_or_default())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let token = |key: &str| meta_u32(&content, key).and_then(|id| tokens.get(id as usize).cloned());
    let template = ChatTemplate::new(
        meta_string(&content, "tokenizer.chat_template"),
        token("tokenizer.ggml.bos_token_id").unwrap_or_default(),
        token("tokenizer.ggml.eos_token_id").unwrap_or_default(),
    )
    .map_err(load_err)?;
    let mut stop_ids: Vec<u32> = ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"]
        .iter()
        .filter_map(|key| meta_u32(&content, key))
        .collect();
    for name in END_OF_TURN_TOKENS {
        if let Some(id) = tokenizer.token_to_id(name) {
            stop_ids.push(id);
        }
    }
    stop_ids.sort_unstable();
    stop_ids.dedup();
    let (content, mut reader) = requantize_slow_blocks(content, reader).map_err(load_err)?;
    let weights = Decoder::from_gguf(&content, &mut reader, &architecture, MAX_CONTEXT)
        .map_err(|e| load_err(e.to_string()))?;
    let context_tokens = weights.context_tokens;
    Ok(LoadedModel {
        weights,
        tokenizer,
        template,
        stop_ids,
        architecture,
        context_tokens,
    })
}

/// Block types candle has no SIMD dot product for on x86: matrix products with them run a
/// scalar loop, about ten times slower.
const SLOW_BLOCKS: [GgmlDType; 3] = [GgmlDType::Q4_1, GgmlDType::Q5_0, GgmlDType::Q5_1];

/// A reader of GGUF bytes: the file, or an in-memory copy.
pub(crate) enum GgufReader {
    File(BufReader<File>),
    Memory(Cursor<Vec<u8>>),
}

impl Read for GgufReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            GgufReader::File(r) => r.read(buf),
            GgufReader::Memory(r) => r.read(buf),
        }
    }
}

impl Seek for GgufReader {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        match self {
            GgufReader::File(r) => r.seek(pos),
            GgufReader::Memory(r) => r.seek(pos),
        }
    }
}

/// When the file stores weights in a [`SLOW_BLOCKS`] type (the Q4_1 test model does), converts
/// those tensors to Q8_0, which has a SIMD kernel, and returns an in-memory GGUF with the rest
/// unchanged; otherwise returns the file as it is. Re-quantising the dequantised weights moves
/// each by at most half a Q8_0 step (8 bits per weight, one scale per 32 weights); loading
/// briefly needs about twice the converted tensors' size in memory.
pub(crate) fn requantize_slow_blocks(
    content: Content,
    mut reader: BufReader<File>,
) -> Result<(Content, GgufReader), String> {
    let slow = content
        .tensor_infos
        .values()
        .any(|t| SLOW_BLOCKS.contains(&t.ggml_dtype));
    if !slow {
        return Ok((content, GgufReader::File(reader)));
    }
    let err = |e: candle_core::Error| format!("cannot convert its weights to Q8_0: {e}");
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let mut tensors: Vec<(&str, QTensor)> = Vec::with_capacity(names.len());
    for name in names {
        let tensor = content
            .tensor(&mut reader, name, &Device::Cpu)
            .map_err(err)?;
        let row = tensor.shape().dims().last().copied().unwrap_or(0);
        let tensor =
            if SLOW_BLOCKS.contains(&tensor.dtype()) && row % GgmlDType::Q8_0.block_size() == 0 {
                let values = tensor.dequantize(&Device::Cpu).map_err(err)?;
                QTensor::quantize(&values, GgmlDType::Q8_0).map_err(err)?
            } else {
                tensor
            };
        tensors.push((name.as_str(), tensor));
    }
    let mut keys: Vec<&String> = content.metadata.keys().collect();
    keys.sort();
    let metadata: Vec<(&str, &Value)> = keys
        .into_iter()
        .filter_map(|k| Some((k.as_str(), content.metadata.get(k)?)))
        .collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
    let mut buffer = Cursor::new(Vec::new());
    gguf_file::write(&mut buffer, &metadata, &tensor_refs).map_err(err)?;
    buffer.set_position(0);
    let converted = Content::read(&mut buffer).map_err(err)?;
    Ok((converted, GgufReader::Memory(buffer)))
}

fn meta_string(content: &Content, key: &str) -> Option<String> {
    content.metadata.get(key)?.to_string().ok().cloned()
}

fn meta_u32(content: &Content, key: &str) -> Option<u32> {
    match content.metadata.get(key)? {
        Value::U8(v) => Some(u32::from(*v)),
        Value::U16(v) => Some(u32::from(*v)),
        Value::U32(v) => Some(*v),
        Value::I32(v) => u32::try_from(*v).ok(),
        Value::U64(v) => u32::try_from(*v).ok(),
        Value::I64(v) => u32::try_from(*v).ok(),
        _ => None,
    }
}

/// The byte-level BPE tokenizer described by `tokenizer.ggml.*` (candle's GGUF importer), with
/// the pre-tokenizer corrected to match the Hugging Face `tokenizer.json` of the model family:
/// candle knows `qwen2` and the `llama3` family; for every other GPT-2 style vocabulary
/// (`smollm`, `gpt2`, ...) it would add a prefix space, which the original tokenizers do not,
/// and `smollm` also splits digits one by one.
fn tokenizer_from_gguf(content: &Content) -> Result<Tokenizer, String> {
    let mut tokenizer =
        Tokenizer::from_gguf(content).map_err(|e| format!("cannot build its tokenizer: {e}"))?;
    let pre = meta_string(content, "tokenizer.ggml.pre").unwrap_or_else(|| "gpt2".into());
    if !matches!(pre.as_str(), "qwen2" | "llama3" | "smaug-bpe" | "lfm2") {
        let byte_level: PreTokenizerWrapper = ByteLevel::new(false, true, true).into();
        let pre_tokenizer: PreTokenizerWrapper = if pre == "smollm" {
            Sequence::new(vec![Digits::new(true).into(), byte_level]).into()
        } else {
            byte_level
        };
        tokenizer.with_pre_tokenizer(Some(pre_tokenizer));
    }
    Ok(tokenizer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_gguf(path: &Path, metadata: &[(&str, Value)]) {
        let mut file = File::create(path).unwrap();
        let refs: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
        candle_core::quantized::gguf_file::write(&mut file, &refs, &[]).unwrap();
    }

    #[test]
    fn missing_file_is_model_not_found() {
        let err = load(Path::new("/nonexistent/model.gguf")).err().unwrap();
        assert!(matches!(err, TeacherError::ModelNotFound { .. }), "{err}");
    }

    #[test]
    fn a_file_without_the_gguf_magic_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.gguf");
        std::fs::write(&path, b"PK\x03\x04 this is a zip").unwrap();
        let err = load(&path).err().unwrap();
        assert!(matches!(err, TeacherError::NotGguf { .. }), "{err}");
        assert!(
            err.to_string().contains("is not a GGUF model file"),
            "{err}"
        );
    }

    #[test]
    fn an_unsupported_architecture_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bert.gguf");
        write_gguf(
            &path,
            &[("general.architecture", Value::String("bert".into()))],
        );
        let err = load(&path).err().unwrap();
        match &err {
            TeacherError::UnsupportedArchitecture { architecture, .. } => {
                assert_eq!(architecture, "bert")
            }
            other => panic!("expected UnsupportedArchitecture, got {other}"),
        }
        assert!(err.to_string().contains("`llama` and `qwen2`"), "{err}");
    }

    #[test]
    fn a_llama_file_without_tensors_fails_to_load_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.gguf");
        write_gguf(
            &path,
            &[
                ("general.architecture", Value::String("llama".into())),
                ("tokenizer.ggml.model", Value::String("gpt2".into())),
                (
                    "tokenizer.ggml.tokens",
                    Value::Array(vec![
                        Value::String("a".into()),
                        Value::String("b".into()),
                        Value::String("ab".into()),
                    ]),
                ),
                (
                    "tokenizer.ggml.merges",
                    Value::Array(vec![Value::String("a b".into())]),
                ),
            ],
        );
        let err = load(&path).err().unwrap();
        assert!(matches!(err, TeacherError::ModelLoad { .. }), "{err}");
        assert!(err.to_string().contains("cannot find"), "{err}");
    }

    #[test]
    fn a_malformed_tokenizer_is_a_load_error_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad-vocab.gguf");
        write_gguf(
            &path,
            &[
                ("general.architecture", Value::String("llama".into())),
                ("tokenizer.ggml.model", Value::String("gpt2".into())),
                (
                    "tokenizer.ggml.tokens",
                    Value::Array(vec![Value::String("a".into()), Value::String("b".into())]),
                ),
                // The merge result `ab` is not in the vocabulary.
                (
                    "tokenizer.ggml.merges",
                    Value::Array(vec![Value::String("a b".into())]),
                ),
            ],
        );
        let err = load(&path).err().unwrap();
        assert!(matches!(err, TeacherError::ModelLoad { .. }), "{err}");
    }
}
