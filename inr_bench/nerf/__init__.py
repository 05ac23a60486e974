"""Neural radiance fields: volume rendering (render.py), Blender-format scenes (blender.py) and
a ray-cast analytic scene (scene.py) behind ``inr_bench.signals.nerf.NeRFSignal``."""
