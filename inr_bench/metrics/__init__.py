"""Evaluation metrics, one module per signal kind (`image`: PSNR, SSIM, LPIPS).

Nothing is re-exported here so that importing the package stays cheap; configs name the classes
directly (`_target_: inr_bench.metrics.image.PSNR`).
"""
