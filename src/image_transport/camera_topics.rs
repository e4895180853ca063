//! [`CameraTopics`]: the image topic and the camera info topic of one camera.

/// The two topics of a camera: `<base>/<image name>` and `<base>/<info name>`.
///
/// The defaults are image_transport's: `image_raw` and `camera_info`. A relative base
/// (`camera`) resolves in the node's namespace like any topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraTopics {
    base: String,
    image: String,
    info: String,
}

impl CameraTopics {
    /// The topics `<base>/image_raw` and `<base>/camera_info`.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            image: "image_raw".into(),
            info: "camera_info".into(),
        }
    }

    /// Uses `<base>/<name>` for the images (e.g. `image_rect`).
    pub fn image_name(mut self, name: &str) -> Self {
        self.image = name.trim_matches('/').to_string();
        self
    }

    /// Uses `<base>/<name>` for the camera info.
    pub fn info_name(mut self, name: &str) -> Self {
        self.info = name.trim_matches('/').to_string();
        self
    }

    /// The image topic, before resolution against a node.
    pub fn image_topic(&self) -> String {
        join(&self.base, &self.image)
    }

    /// The camera info topic, before resolution against a node.
    pub fn info_topic(&self) -> String {
        join(&self.base, &self.info)
    }
}

impl From<&str> for CameraTopics {
    fn from(base: &str) -> Self {
        Self::new(base)
    }
}

/// `base/name`, or `/name` for the root base `/` (which trims to empty).
fn join(base: &str, name: &str) -> String {
    if base.is_empty() {
        format!("/{name}")
    } else {
        format!("{base}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_siblings_under_the_base() {
        let t = CameraTopics::new("camera");
        assert_eq!(t.image_topic(), "camera/image_raw");
        assert_eq!(t.info_topic(), "camera/camera_info");
        let t = CameraTopics::from("/robot/left/")
            .image_name("image_rect")
            .info_name("info");
        assert_eq!(t.image_topic(), "/robot/left/image_rect");
        assert_eq!(t.info_topic(), "/robot/left/info");
        assert_eq!(CameraTopics::new("/").image_topic(), "/image_raw");
    }
}
