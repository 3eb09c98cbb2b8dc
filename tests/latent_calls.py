"""The Latent tab's dict handlers called the way its events call them, for tests that walk,
load a checkpoint or move a slider without a browser."""

def walk(latent, req, source, upload, seed_a, seed_b, frames, method) -> tuple:
    """(message, strip, path, gif) of a Latent-tab walk, through the dict handler."""
    out = latent.interpolate(req, {"latent_source": source, "checkpoint_upload": upload,
                                   "seed_a": seed_a, "seed_b": seed_b, "frames": frames,
                                   "method": method})
    return (out["latent_message"], out.get("latent_strip_image"), out.get("latent_path"),
            out.get("latent_gif"))


def check(latent, req, upload) -> tuple:
    out = latent.check_upload(req, {"checkpoint_upload": upload})
    return out["latent_message"], out["latent_source"]


def slide(latent, req, source, upload, seed_a, *dims) -> tuple:
    values = {"latent_source": source, "checkpoint_upload": upload, "seed_a": seed_a,
              **{f"z{i + 1}": d for i, d in enumerate(dims)}}
    out = latent.slide(req, values)
    return out["latent_message"], out.get("latent_sample"), out.get("latent_sample_plot")
