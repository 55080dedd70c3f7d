//! A builder for the `describe` answer, so a plugin states its modes and
//! parameters in a few readable lines.

use crate::{Info, Mode, Parameter};

/// Start describing workload `name` at `version`.
pub fn info(name: &str, version: &str, description: &str) -> InfoBuilder {
    InfoBuilder {
        info: Info {
            name: name.to_string(),
            version: version.to_string(),
            description: description.to_string(),
            modes: Vec::new(),
            parameters: Vec::new(),
            default_scale: 1,
        },
    }
}

/// Builds an [`Info`]; the first mode added is the default mode.
pub struct InfoBuilder {
    info: Info,
}

impl InfoBuilder {
    /// Add a mode.
    pub fn mode(mut self, name: &str, description: &str) -> Self {
        self.info.modes.push(Mode {
            name: name.to_string(),
            description: description.to_string(),
        });
        self
    }

    /// Add a parameter with its default value.
    pub fn param(mut self, name: &str, default_value: &str, description: &str) -> Self {
        self.info.parameters.push(Parameter {
            name: name.to_string(),
            description: description.to_string(),
            default_value: default_value.to_string(),
        });
        self
    }

    /// Scale used when the user gives none.
    pub fn default_scale(mut self, scale: u32) -> Self {
        self.info.default_scale = scale;
        self
    }

    /// The finished description.
    pub fn build(self) -> Info {
        self.info
    }
}
