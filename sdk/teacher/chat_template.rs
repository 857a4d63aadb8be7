//! Renders a conversation into the prompt text a GGUF chat model expects, with the model's own
//! Jinja chat template (`tokenizer.chat_template`) run by minijinja the way Hugging Face
//! `transformers` runs it (`trim_blocks`, `lstrip_blocks`, Python string methods,
//! `raise_exception`, `strftime_now`).

use minijinja::{Environment, Error, ErrorKind, context};

use super::ChatMessage;

/// The template used when a GGUF file has no `tokenizer.chat_template`: ChatML
/// (`<|im_start|>role\ncontent<|im_end|>\n` per message, then `<|im_start|>assistant\n`), the
/// format of Qwen2 and SmolLM2 models.
pub(crate) const CHATML_FALLBACK: &str = "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

const NAME: &str = "chat";

/// A compiled chat template and the special tokens it may reference.
pub(crate) struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
    from_model: bool,
}

impl ChatTemplate {
    /// Compiles `source` (the GGUF's template, or [`CHATML_FALLBACK`] when `None`).
    pub(crate) fn new(
        source: Option<String>,
        bos_token: String,
        eos_token: String,
    ) -> Result<Self, String> {
        let from_model = source.is_some();
        let source = source.unwrap_or_else(|| CHATML_FALLBACK.to_string());
        let mut env = Environment::new();
        let mut syntax = minijinja::syntax::SyntaxConfig::builder();
        syntax.trim_blocks(true).lstrip_blocks(true);
        env.set_syntax(syntax.build().map_err(|e| e.to_string())?);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        minijinja_contrib::add_to_environment(&mut env);
        env.add_function("raise_exception", |msg: String| -> Result<String, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, msg))
        });
        env.add_function("strftime_now", |format: String| {
            chrono::Local::now().format(&format).to_string()
        });
        env.add_template_owned(NAME, source)
            .map_err(|e| format!("invalid chat template: {e}"))?;
        Ok(ChatTemplate {
            env,
            bos_token,
            eos_token,
            from_model,
        })
    }

    /// Whether the template came from the model file (`false`: the ChatML fallback).
    pub(crate) fn is_from_model(&self) -> bool {
        self.from_model
    }

    /// The prompt for `messages`, ending with the assistant's turn header
    /// (`add_generation_prompt = true`).
    pub(crate) fn render(&self, messages: &[ChatMessage]) -> Result<String, String> {
        let template = self
            .env
            .get_template(NAME)
            .map_err(|e| format!("chat template: {e}"))?;
        template
            .render(context! {
                messages => minijinja::value::Serde(messages),
                add_generation_prompt => true,
                bos_token => self.bos_token.as_str(),
                eos_token => self.eos_token.as_str(),
            })
            .map_err(|e| format!("chat template failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SmolLM2-135M-Instruct's template, as stored in its GGUF file.
    const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    /// The Qwen2.5 style: whitespace control, `tools`, Python string methods.
    const QWEN_STYLE: &str = "{%- if tools %}\n    {{- 'TOOLS' }}\n{%- else %}\n    {%- if messages[0]['role'] == 'system' %}\n        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n    {%- else %}\n        {{- '<|im_start|>system\\nYou are Qwen.<|im_end|>\\n' }}\n    {%- endif %}\n{%- endif %}\n{%- for message in messages %}\n    {%- if message.role != 'system' %}\n        {{- '<|im_start|>' + message.role + '\\n' + message.content.strip() + '<|im_end|>' + '\\n' }}\n    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n";

    fn conversation() -> Vec<ChatMessage> {
        vec![
            ChatMessage::system("Be brief."),
            ChatMessage::user("Begin. Sum the column."),
            ChatMessage::assistant("Summing.\n```python\nprint(1)\n```"),
            ChatMessage::user("  Output: 1  "),
        ]
    }

    #[test]
    fn smollm2_template_renders_chatml_with_generation_prompt() {
        let t = ChatTemplate::new(
            Some(SMOLLM2.into()),
            "<|im_start|>".into(),
            "<|im_end|>".into(),
        )
        .unwrap();
        let prompt = t.render(&conversation()).unwrap();
        assert_eq!(
            prompt,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nBegin. Sum the column.<|im_end|>\n<|im_start|>assistant\nSumming.\n```python\nprint(1)\n```<|im_end|>\n<|im_start|>user\n  Output: 1  <|im_end|>\n<|im_start|>assistant\n"
        );
        assert!(t.is_from_model());
    }

    #[test]
    fn python_string_methods_and_whitespace_control_work() {
        let t = ChatTemplate::new(Some(QWEN_STYLE.into()), String::new(), String::new()).unwrap();
        let prompt = t.render(&conversation()).unwrap();
        assert_eq!(
            prompt,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nBegin. Sum the column.<|im_end|>\n<|im_start|>assistant\nSumming.\n```python\nprint(1)\n```<|im_end|>\n<|im_start|>user\nOutput: 1<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn raise_exception_in_a_template_is_an_error() {
        let t = ChatTemplate::new(
            Some("{{ raise_exception('Conversation roles must alternate') }}".into()),
            String::new(),
            String::new(),
        )
        .unwrap();
        let err = t.render(&conversation()).unwrap_err();
        assert!(err.contains("Conversation roles must alternate"), "{err}");
    }

    #[test]
    fn missing_template_falls_back_to_chatml() {
        let t = ChatTemplate::new(None, String::new(), String::new()).unwrap();
        assert!(!t.is_from_model());
        let prompt = t
            .render(&[ChatMessage::system("S"), ChatMessage::user("U")])
            .unwrap();
        assert_eq!(
            prompt,
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn a_broken_template_is_reported_at_load() {
        let err = ChatTemplate::new(Some("{% for %}".into()), String::new(), String::new())
            .err()
            .unwrap();
        assert!(err.contains("invalid chat template"), "{err}");
    }
}
