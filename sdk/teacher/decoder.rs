//! The embedded teacher's transformer: a decoder-only model (`llama` or `qwen2` GGUF layout)
//! built from candle's quantized matrix products and kernels, with a key/value cache that grows
//! in place.
//!
//! candle-transformers' own quantized models append to their cache with `Tensor::cat` and
//! repeat every key/value head for grouped-query attention on every token: each generated token
//! copies the whole cache several times, so a reply at 2,500 tokens of context is about seven
//! times slower than at 100 (measured with the 135M test model). Here the cache is written in
//! place ([`KvCache`], capacity doubling) and the query heads of a group attend to their shared
//! key/value head through one batched matrix product, so the per-token cost of the context is
//! the attention arithmetic alone. A [`KvCache`] also remembers which tokens it holds, so a
//! prompt that extends (or shares a beginning with) an earlier one only reads the new tokens.

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};
use candle_transformers::quantized_nn::RmsNorm;

use std::io::{Read, Seek};

/// Positions a cache allocates at first; it doubles when full (up to the context length).
const INITIAL_CAPACITY: usize = 512;

struct Layer {
    wq: QMatMul,
    wk: QMatMul,
    wv: QMatMul,
    wo: QMatMul,
    /// Query/key/value biases (`qwen2`).
    bias: Option<(Tensor, Tensor, Tensor)>,
    attn_norm: RmsNorm,
    ffn_norm: RmsNorm,
    gate: QMatMul,
    up: QMatMul,
    down: QMatMul,
}

/// The weights of one model (immutable; shared by every cache).
pub(crate) struct Decoder {
    embeddings: Tensor,
    layers: Vec<Layer>,
    norm: RmsNorm,
    output: QMatMul,
    cos: Tensor,
    sin: Tensor,
    /// NEOX rotary layout (pairs `i`, `i + d/2`; `qwen2`) rather than interleaved (`llama`).
    rope_neox: bool,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
    /// Most positions the rotary tables (and so a cache) cover.
    pub(crate) context_tokens: usize,
}

/// One conversation's attention state: per layer the keys, stored transposed
/// (`[n_kv_head, head_dim, capacity]`, so the query-key product reads them row by row without
/// repacking), and the values (`[n_kv_head, capacity, head_dim]`) of the tokens read so far
/// (filled up to `tokens.len()`), and those tokens.
pub(crate) struct KvCache {
    layers: Vec<(Tensor, Tensor)>,
    capacity: usize,
    tokens: Vec<u32>,
}

impl KvCache {
    /// An empty cache (allocates on first use).
    pub(crate) fn new() -> Self {
        KvCache {
            layers: Vec::new(),
            capacity: 0,
            tokens: Vec::new(),
        }
    }

    /// How many tokens the cache holds.
    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Forgets everything after the first `len` tokens (their slots are overwritten later).
    pub(crate) fn truncate(&mut self, len: usize) {
        self.tokens.truncate(len);
    }

    /// How many leading tokens of `prompt` the cache can reuse: the common beginning, kept
    /// below the prompt's length so at least its last token is read again (its logits are the
    /// ones the reply starts from).
    pub(crate) fn reusable(&self, prompt: &[u32]) -> usize {
        let common = self
            .tokens
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count();
        common.min(prompt.len().saturating_sub(1))
    }
}

fn meta_u32(ct: &Content, key: &str) -> candle_core::Result<usize> {
    match ct.metadata.get(key) {
        Some(v) => Ok(v.to_u32()? as usize),
        None => candle_core::bail!("cannot find {key} in metadata"),
    }
}

fn meta_f32(ct: &Content, key: &str) -> Option<f32> {
    ct.metadata.get(key).and_then(|v| v.to_f32().ok())
}

impl Decoder {
    /// Reads a `llama` or `qwen2` model from `ct`/`reader`; `max_context` caps the positions
    /// (the file's `<arch>.context_length` otherwise).
    ///
    /// # Errors
    /// A missing metadata key or tensor, or a tensor of the wrong shape.
    pub(crate) fn from_gguf<R: Read + Seek>(
        ct: &Content,
        reader: &mut R,
        architecture: &str,
        max_context: usize,
    ) -> candle_core::Result<Self> {
        let dev = &Device::Cpu;
        let key = |k: &str| format!("{architecture}.{k}");
        let n_head = meta_u32(ct, &key("attention.head_count"))?;
        let n_kv_head = meta_u32(ct, &key("attention.head_count_kv"))?;
        let n_layer = meta_u32(ct, &key("block_count"))?;
        let dim = meta_u32(ct, &key("embedding_length"))?;
        let eps = f64::from(
            meta_f32(ct, &key("attention.layer_norm_rms_epsilon"))
                .ok_or_else(|| candle_core::Error::Msg("cannot find the rms epsilon".into()))?,
        );
        let freq_base = meta_f32(ct, &key("rope.freq_base")).unwrap_or(10_000.0);
        let head_dim = dim / n_head;
        if n_head == 0 || n_kv_head == 0 || n_head % n_kv_head != 0 || head_dim * n_head != dim {
            candle_core::bail!(
                "inconsistent attention shape: {n_head} heads, {n_kv_head} key/value heads, width {dim}"
            );
        }
        let rope_dim = meta_u32(ct, &key("rope.dimension_count")).unwrap_or(head_dim);
        let context_tokens = meta_u32(ct, &key("context_length"))
            .unwrap_or(max_context)
            .min(max_context);
        let (cos, sin) = rotary_tables(rope_dim, freq_base, context_tokens)?;

        let tensor = |reader: &mut R, name: &str| -> candle_core::Result<QTensor> {
            ct.tensor(reader, name, dev)
        };
        let embeddings_q = tensor(reader, "token_embd.weight")?;
        let embeddings = embeddings_q.dequantize(dev)?;
        let norm = RmsNorm::from_qtensor(tensor(reader, "output_norm.weight")?, eps)?;
        let output = match tensor(reader, "output.weight") {
            Ok(t) => QMatMul::from_qtensor(t)?,
            Err(_) => QMatMul::from_qtensor(embeddings_q)?,
        };
        let mut layers = Vec::with_capacity(n_layer);
        for i in 0..n_layer {
            let mut t = |name: &str| tensor(reader, &format!("blk.{i}.{name}"));
            let bias = if architecture == "qwen2" {
                Some((
                    t("attn_q.bias")?.dequantize(dev)?,
                    t("attn_k.bias")?.dequantize(dev)?,
                    t("attn_v.bias")?.dequantize(dev)?,
                ))
            } else {
                None
            };
            layers.push(Layer {
                wq: QMatMul::from_qtensor(t("attn_q.weight")?)?,
                wk: QMatMul::from_qtensor(t("attn_k.weight")?)?,
                wv: QMatMul::from_qtensor(t("attn_v.weight")?)?,
                wo: QMatMul::from_qtensor(t("attn_output.weight")?)?,
                bias,
                attn_norm: RmsNorm::from_qtensor(t("attn_norm.weight")?, eps)?,
                ffn_norm: RmsNorm::from_qtensor(t("ffn_norm.weight")?, eps)?,
                gate: QMatMul::from_qtensor(t("ffn_gate.weight")?)?,
                up: QMatMul::from_qtensor(t("ffn_up.weight")?)?,
                down: QMatMul::from_qtensor(t("ffn_down.weight")?)?,
            });
        }
        Ok(Decoder {
            embeddings,
            layers,
            norm,
            output,
            cos,
            sin,
            rope_neox: architecture == "qwen2",
            n_head,
            n_kv_head,
            head_dim,
            context_tokens,
        })
    }

    /// Reads `tokens` after the ones `cache` holds and returns the logits of the last one
    /// (`[vocab]`, f32).
    ///
    /// # Errors
    /// Running past [`Decoder::context_tokens`], or a kernel failure.
    pub(crate) fn forward(
        &self,
        cache: &mut KvCache,
        tokens: &[u32],
    ) -> candle_core::Result<Tensor> {
        let pos = cache.tokens.len();
        let seq = tokens.len();
        let end = pos + seq;
        if seq == 0 || end > self.context_tokens {
            candle_core::bail!(
                "{end} positions do not fit the model's {} tokens of context",
                self.context_tokens
            );
        }
        self.reserve(cache, end)?;
        let dev = &Device::Cpu;
        let ids = Tensor::new(tokens, dev)?;
        let mut x = self.embeddings.index_select(&ids, 0)?; // [seq, dim]
        let cos = self.cos.narrow(0, pos, seq)?;
        let sin = self.sin.narrow(0, pos, seq)?;
        let mask = causal_mask(seq, pos, self.n_head / self.n_kv_head)?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        for (layer, (k_cache, v_cache)) in self.layers.iter().zip(cache.layers.iter()) {
            let h = layer.attn_norm.forward(&x)?;
            let (mut q, mut k, mut v) = (
                layer.wq.forward(&h)?,
                layer.wk.forward(&h)?,
                layer.wv.forward(&h)?,
            );
            if let Some((bq, bk, bv)) = &layer.bias {
                q = q.broadcast_add(bq)?;
                k = k.broadcast_add(bk)?;
                v = v.broadcast_add(bv)?;
            }
            // [1, heads, seq, head_dim]
            let heads = |t: Tensor, n: usize| -> candle_core::Result<Tensor> {
                t.reshape((1, seq, n, self.head_dim))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let q = self.rope(&heads(q, self.n_head)?, &cos, &sin)?;
            let k = self.rope(&heads(k, self.n_kv_head)?, &cos, &sin)?;
            let v = heads(v, self.n_kv_head)?;
            k_cache.slice_set(&k.squeeze(0)?.transpose(1, 2)?.contiguous()?, 2, pos)?;
            v_cache.slice_set(&v.squeeze(0)?, 1, pos)?;
            let keys_t = k_cache.narrow(2, 0, end)?; // [kv_heads, head_dim, end]
            let values = v_cache.narrow(1, 0, end)?; // [kv_heads, end, head_dim]
            // The query heads sharing a key/value head, stacked: [kv_heads, group * seq, head_dim].
            let q = q.reshape((
                self.n_kv_head,
                (self.n_head / self.n_kv_head) * seq,
                self.head_dim,
            ))?;
            let scores = (q.matmul(&keys_t)? * scale)?;
            let scores = match &mask {
                Some(m) => scores.broadcast_add(m)?,
                None => scores,
            };
            let weights = candle_nn::ops::softmax_last_dim(&scores)?;
            let attended = weights.matmul(&values)?; // [kv_heads, group * seq, head_dim]
            let attended = attended
                .reshape((self.n_head, seq, self.head_dim))?
                .transpose(0, 1)?
                .reshape((seq, self.n_head * self.head_dim))?;
            x = (x + layer.wo.forward(&attended)?)?;
            let h = layer.ffn_norm.forward(&x)?;
            let gated =
                (candle_nn::ops::silu(&layer.gate.forward(&h)?)? * layer.up.forward(&h)?)?;
            x = (x + layer.down.forward(&gated)?)?;
        }
        cache.tokens.extend_from_slice(tokens);
        let last = self.norm.forward(&x.narrow(0, seq - 1, 1)?)?;
        self.output.forward(&last)?.squeeze(0)
    }

    fn rope(&self, x: &Tensor, cos: &Tensor, sin: &Tensor) -> candle_core::Result<Tensor> {
        if self.rope_neox {
            candle_nn::rotary_emb::rope(x, cos, sin)
        } else {
            candle_nn::rotary_emb::rope_i(x, cos, sin)
        }
    }

    /// A new cache holding a copy of the first `len` tokens of `cache` (which is left as it
    /// is), so another conversation can start from a shared beginning.
    ///
    /// # Errors
    /// A kernel failure while copying.
    pub(crate) fn fork(&self, cache: &KvCache, len: usize) -> candle_core::Result<KvCache> {
        let len = len.min(cache.tokens.len());
        let mut fork = KvCache::new();
        if len == 0 {
            return Ok(fork);
        }
        self.reserve(&mut fork, len)?;
        for ((k, v), (old_k, old_v)) in fork.layers.iter().zip(&cache.layers) {
            k.slice_set(&old_k.narrow(2, 0, len)?.contiguous()?, 2, 0)?;
            v.slice_set(&old_v.narrow(1, 0, len)?.contiguous()?, 1, 0)?;
        }
        fork.tokens = cache.tokens[..len].to_vec();
        Ok(fork)
    }

    /// Makes room for `positions` in every layer of `cache`, keeping what it holds.
    fn reserve(&self, cache: &mut KvCache, positions: usize) -> candle_core::Result<()> {
        if positions <= cache.capacity && cache.layers.len() == self.layers.len() {
            return Ok(());
        }
        let mut capacity = cache.capacity.max(INITIAL_CAPACITY);
        while capacity < positions {
            capacity *= 2;
        }
        let capacity = capacity.min(self.context_tokens).max(positions);
        let held = cache.tokens.len();
        let mut layers = Vec::with_capacity(self.layers.len());
        for i in 0..self.layers.len() {
            let k = Tensor::zeros(
                (self.n_kv_head, self.head_dim, capacity),
                DType::F32,
                &Device::Cpu,
            )?;
            let v = Tensor::zeros(
                (self.n_kv_head, capacity, self.head_dim),
                DType::F32,
                &Device::Cpu,
            )?;
            if let Some((old_k, old_v)) = cache.layers.get(i).filter(|_| held > 0) {
                k.slice_set(&old_k.narrow(2, 0, held)?.contiguous()?, 2, 0)?;
                v.slice_set(&old_v.narrow(1, 0, held)?.contiguous()?, 1, 0)?;
            }
            layers.push((k, v));
        }
        cache.layers = layers;
        cache.capacity = capacity;
        Ok(())
    }
}

/// `cos`/`sin` rotary tables, `[positions, rope_dim / 2]`.
fn rotary_tables(
    rope_dim: usize,
    freq_base: f32,
    positions: usize,
) -> candle_core::Result<(Tensor, Tensor)> {
    let theta: Vec<f32> = (0..rope_dim)
        .step_by(2)
        .map(|i| 1.0 / freq_base.powf(i as f32 / rope_dim as f32))
        .collect();
    let theta = Tensor::new(theta.as_slice(), &Device::Cpu)?;
    let angles = Tensor::arange(0, positions as u32, &Device::Cpu)?
        .to_dtype(DType::F32)?
        .reshape((positions, 1))?
        .matmul(&theta.reshape((1, theta.elem_count()))?)?;
    Ok((angles.cos()?, angles.sin()?))
}

/// The additive causal mask for `seq` new tokens after `pos` cached ones, repeated for the
/// `group` query heads stacked per key/value head: `[group * seq, pos + seq]`, 0 where a query
/// may attend and -inf after its own position. `None` for a single token (it sees everything).
fn causal_mask(seq: usize, pos: usize, group: usize) -> candle_core::Result<Option<Tensor>> {
    if seq == 1 {
        return Ok(None);
    }
    let total = pos + seq;
    let row = |i: usize| (0..total).map(move |j| if j > pos + i { f32::NEG_INFINITY } else { 0.0 });
    let values: Vec<f32> = (0..group).flat_map(|_| (0..seq).flat_map(row)).collect();
    Ok(Some(Tensor::from_vec(
        values,
        (group * seq, total),
        &Device::Cpu,
    )?))
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::io::BufReader;
    use std::path::PathBuf;

    use candle_core::quantized::gguf_file::Content;
    use candle_core::{Device, Tensor};
    use candle_transformers::models::quantized_llama;

    use super::{Decoder, KvCache};
    use crate::teacher::gguf::{GgufReader, requantize_slow_blocks};

    /// The SmolLM2-135M test model (`CSVAGENT_TEST_MODEL`, else under `.cache/models/`); `None`
    /// (with a visible skip line) when it is absent outside CI.
    fn test_model() -> Option<PathBuf> {
        let path = std::env::var("CSVAGENT_TEST_MODEL")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join(".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf")
            });
        if path.is_file() {
            return Some(path);
        }
        assert!(
            std::env::var("CSVAGENT_REQUIRE_ALL").as_deref() != Ok("1"),
            "test model missing at {}",
            path.display()
        );
        eprintln!("SKIPPED decoder tests: no test model at {}", path.display());
        None
    }

    fn open(path: &PathBuf) -> (Content, GgufReader) {
        let mut reader = BufReader::new(File::open(path).unwrap());
        let content = Content::read(&mut reader).unwrap();
        requantize_slow_blocks(content, reader).unwrap()
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    /// The in-place cache and grouped attention compute what candle's reference llama computes:
    /// the same logits after a prompt read in two chunks (the second attends to the first) and
    /// after each of three single generated tokens.
    #[test]
    fn logits_match_candles_reference_llama() {
        let Some(path) = test_model() else { return };
        let (content, mut reader) = open(&path);
        let ours = Decoder::from_gguf(&content, &mut reader, "llama", 4096).unwrap();
        let (content, mut reader) = open(&path);
        let mut reference =
            quantized_llama::ModelWeights::from_gguf(content, &mut reader, &Device::Cpu).unwrap();
        let reference_forward = |m: &mut quantized_llama::ModelWeights, ids: &[u32], pos: usize| {
            let input = Tensor::new(ids, &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap();
            m.forward(&input, pos).unwrap().squeeze(0).unwrap()
        };
        let prompt: Vec<u32> = (0..40u32).map(|i| 100 + i * 37).collect();
        let mut cache = KvCache::new();
        let mut pos = 0;
        for chunk in prompt.chunks(25) {
            let a = ours.forward(&mut cache, chunk).unwrap();
            let b = reference_forward(&mut reference, chunk, pos);
            pos += chunk.len();
            assert!(
                max_abs_diff(&a, &b) < 1e-3,
                "after {pos} prompt tokens: {}",
                max_abs_diff(&a, &b)
            );
        }
        for token in [5u32, 1200, 77] {
            let a = ours.forward(&mut cache, &[token]).unwrap();
            let b = reference_forward(&mut reference, &[token], pos);
            pos += 1;
            assert!(
                max_abs_diff(&a, &b) < 1e-3,
                "at position {pos}: {}",
                max_abs_diff(&a, &b)
            );
        }
        assert_eq!(cache.tokens.len(), 43);
    }

    /// A cache cut back to a shared beginning and extended with other tokens gives the logits
    /// of reading the new prompt from scratch, and it grows past its first allocation.
    #[test]
    fn a_reused_prefix_gives_the_logits_of_a_fresh_read() {
        let Some(path) = test_model() else { return };
        let (content, mut reader) = open(&path);
        let model = Decoder::from_gguf(&content, &mut reader, "llama", 4096).unwrap();
        let first: Vec<u32> = (0..600u32).map(|i| 200 + (i * 13) % 5000).collect();
        let mut second = first[..550].to_vec();
        second.extend([42u32, 43, 44, 45]);
        // Read in chunks as the teacher does: candle's quantized products round differently
        // for very large batches, which a 135M model amplifies.
        let read = |tokens: &[u32]| {
            let mut cache = KvCache::new();
            let mut logits = None;
            for chunk in tokens.chunks(256) {
                logits = Some(model.forward(&mut cache, chunk).unwrap());
            }
            (cache, logits.unwrap())
        };
        let (mut cache, _) = read(&first);
        let reuse = cache.reusable(&second);
        assert_eq!(reuse, 550);
        cache.truncate(reuse);
        let resumed = model.forward(&mut cache, &second[reuse..]).unwrap();
        let fresh = read(&second).1;
        assert!(
            max_abs_diff(&resumed, &fresh) < 1e-3,
            "{}",
            max_abs_diff(&resumed, &fresh)
        );
        // A prompt equal to what the cache holds still reads its last token.
        assert_eq!(cache.reusable(&second), second.len() - 1);

        // A fork starts another conversation from the shared beginning and leaves the original
        // intact: both continue exactly as fresh reads would.
        // (Forking at a chunk boundary: positions read in a chunk of another size round
        // differently.)
        let mut third = first[..256].to_vec();
        third.extend([7u32, 8, 9]);
        let mut fork = model.fork(&cache, cache.reusable(&third)).unwrap();
        assert_eq!(fork.tokens.len(), 256);
        let forked = model.forward(&mut fork, &third[256..]).unwrap();
        let fresh = read(&third).1;
        assert!(
            max_abs_diff(&forked, &fresh) < 1e-3,
            "{}",
            max_abs_diff(&forked, &fresh)
        );
        let mut fourth = second.clone();
        fourth.push(99);
        let continued = model.forward(&mut cache, &fourth[second.len()..]).unwrap();
        let fresh = read(&fourth).1;
        assert!(
            max_abs_diff(&continued, &fresh) < 1e-3,
            "{}",
            max_abs_diff(&continued, &fresh)
        );
    }

    /// A tiny random `qwen2` model written as GGUF (F32 tensors, query/key/value biases,
    /// grouped attention: 4 query heads over 2 key/value heads).
    fn tiny_qwen2() -> std::io::Cursor<Vec<u8>> {
        use candle_core::quantized::gguf_file::{self, Value};
        use candle_core::quantized::{GgmlDType, QTensor};
        let dev = &Device::Cpu;
        let (vocab, dim, kv, ffn) = (50usize, 32usize, 16usize, 64usize);
        let random = |shape: &[usize], scale: f32| {
            let t = Tensor::randn(0f32, scale, shape, dev).unwrap();
            QTensor::quantize(&t, GgmlDType::F32).unwrap()
        };
        let norm = |n: usize| {
            let t = (Tensor::ones(n, candle_core::DType::F32, dev).unwrap()
                + Tensor::randn(0f32, 0.1, n, dev).unwrap())
            .unwrap();
            QTensor::quantize(&t, GgmlDType::F32).unwrap()
        };
        let mut tensors: Vec<(String, QTensor)> = vec![
            ("token_embd.weight".into(), random(&[vocab, dim], 1.0)),
            ("output_norm.weight".into(), norm(dim)),
            ("output.weight".into(), random(&[vocab, dim], 0.3)),
        ];
        for i in 0..2 {
            let b = |n: &str| format!("blk.{i}.{n}");
            tensors.extend([
                (b("attn_q.weight"), random(&[dim, dim], 0.3)),
                (b("attn_k.weight"), random(&[kv, dim], 0.3)),
                (b("attn_v.weight"), random(&[kv, dim], 0.3)),
                (b("attn_q.bias"), random(&[dim], 0.3)),
                (b("attn_k.bias"), random(&[kv], 0.3)),
                (b("attn_v.bias"), random(&[kv], 0.3)),
                (b("attn_output.weight"), random(&[dim, dim], 0.3)),
                (b("attn_norm.weight"), norm(dim)),
                (b("ffn_norm.weight"), norm(dim)),
                (b("ffn_gate.weight"), random(&[ffn, dim], 0.3)),
                (b("ffn_up.weight"), random(&[ffn, dim], 0.3)),
                (b("ffn_down.weight"), random(&[dim, ffn], 0.3)),
            ]);
        }
        let metadata = [
            ("general.architecture", Value::String("qwen2".into())),
            ("qwen2.attention.head_count", Value::U32(4)),
            ("qwen2.attention.head_count_kv", Value::U32(2)),
            ("qwen2.embedding_length", Value::U32(dim as u32)),
            ("qwen2.context_length", Value::U32(64)),
            ("qwen2.block_count", Value::U32(2)),
            ("qwen2.attention.layer_norm_rms_epsilon", Value::F32(1e-6)),
            ("qwen2.rope.freq_base", Value::F32(10_000.0)),
        ];
        let metadata: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
        let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let mut buffer = std::io::Cursor::new(Vec::new());
        gguf_file::write(&mut buffer, &metadata, &tensors).unwrap();
        buffer.set_position(0);
        buffer
    }

    /// The `qwen2` layout (biases, NEOX rotary, grouped heads) computes what candle's reference
    /// qwen2 computes, for a chunked prompt and single tokens.
    #[test]
    fn logits_match_candles_reference_qwen2() {
        use candle_transformers::models::quantized_qwen2;
        let mut file = tiny_qwen2();
        let content = Content::read(&mut file).unwrap();
        let ours = Decoder::from_gguf(&content, &mut file, "qwen2", 32_768).unwrap();
        assert_eq!(ours.context_tokens, 64);
        let mut file = tiny_qwen2_copy(&file);
        let content = Content::read(&mut file).unwrap();
        let mut reference =
            quantized_qwen2::ModelWeights::from_gguf(content, &mut file, &Device::Cpu).unwrap();
        let mut cache = KvCache::new();
        let mut pos = 0;
        for chunk in [&[1u32, 7, 9, 20, 33, 4][..], &[11, 12, 13], &[40], &[2]] {
            let a = ours.forward(&mut cache, chunk).unwrap();
            let input = Tensor::new(chunk, &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap();
            let b = reference.forward(&input, pos).unwrap().squeeze(0).unwrap();
            pos += chunk.len();
            assert!(
                max_abs_diff(&a, &b) < 1e-4,
                "at position {pos}: {}",
                max_abs_diff(&a, &b)
            );
        }
        // Past the declared context the decoder refuses instead of reading garbage.
        let err = ours.forward(&mut cache, &[1; 60]).unwrap_err();
        assert!(
            err.to_string().contains("do not fit the model's 64 tokens"),
            "{err}"
        );
    }

    fn tiny_qwen2_copy(file: &std::io::Cursor<Vec<u8>>) -> std::io::Cursor<Vec<u8>> {
        std::io::Cursor::new(file.get_ref().clone())
    }
}
