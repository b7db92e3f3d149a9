//! e2e: the files of `config/samples/` — valid examples, and `invalid-*.yaml` whose first
//! two lines announce the API server's refusal (`# expect-error: …`, `# expect-field: …`).

use std::path::PathBuf;

const EXPECT_ERROR: &str = "# expect-error: ";
const EXPECT_FIELD: &str = "# expect-field: ";

/// One sample file.
#[derive(Debug, Clone)]
pub struct Sample {
    /// File name, e.g. `invalid-sgt-cidr-prefix.yaml`.
    pub file: String,
    /// The whole file.
    pub text: String,
    /// For `invalid-*`: a substring of the API server's message.
    pub expect_error: Option<String>,
    /// For `invalid-*`: the field path the message names.
    pub expect_field: Option<String>,
}

impl Sample {
    /// Whether the API server must refuse it.
    pub fn is_invalid(&self) -> bool {
        self.file.starts_with("invalid-")
    }

    /// The sample as JSON, to derive variants from it.
    pub fn json(&self) -> serde_json::Value {
        let yaml: serde_yaml::Value = serde_yaml::from_str(&self.text)
            .unwrap_or_else(|e| panic!("{} is not YAML: {e}", self.file));
        serde_json::to_value(yaml).expect("YAML maps to JSON")
    }

    /// Its `kind`.
    pub fn kind(&self) -> String {
        self.json()["kind"].as_str().unwrap_or_default().to_owned()
    }
}

/// `config/samples/` in this checkout.
pub fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/samples")
}

/// Every `*.yaml` sample, sorted by file name.
pub fn all_samples() -> Vec<Sample> {
    let dir = samples_dir();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| {
            entry
                .expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    files.sort();
    files.iter().map(|file| sample(file)).collect()
}

/// The sample `file` (a name in `config/samples/`).
pub fn sample(file: &str) -> Sample {
    let path = samples_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let header = |prefix: &str| {
        text.lines()
            .take(2)
            .find_map(|line| line.strip_prefix(prefix))
            .map(|value| value.trim().to_owned())
    };
    let sample = Sample {
        file: file.to_owned(),
        expect_error: header(EXPECT_ERROR),
        expect_field: header(EXPECT_FIELD),
        text: text.clone(),
    };
    if sample.is_invalid() {
        assert!(
            sample.expect_error.is_some() && sample.expect_field.is_some(),
            "{file}: an invalid sample starts with `{EXPECT_ERROR}…` and `{EXPECT_FIELD}…` lines"
        );
    }
    sample
}
