"""Label Studio labeling configs: read the label set back from any Labels/Text config, or write one."""

from labeling_config.config import (
    RESTAURANT_CONFIG,
    LabelConfig,
    load_config,
    parse_config,
    render_config,
    restaurant_config,
)

__all__ = ["RESTAURANT_CONFIG", "LabelConfig", "load_config", "parse_config", "render_config",
           "restaurant_config"]
