"""How far the shipped default's output scale is from the SI-SDR-optimal one: SI-SDR minus SNR per clip, by kind and SNR."""
import sys, numpy as np, jax
from rtmusic import checkpoint
from rtmusic.models import DenoiserConfig
from rtmusic.metrics import si_sdr
from train.denoise import make_forward
from train.datapaths import data_dir
from train.mixer import make_validation_set
hdr, w = checkpoint.load(sys.argv[1])
cfg = DenoiserConfig.from_dict(hdr["config"])
val = make_validation_set(data_dir(None), 210, 6.0, seed=1234)
fwd, delay = make_forward(cfg); fwd = jax.jit(fwd)
noisy = val["noisy"].astype(np.float32)
est = np.concatenate([np.asarray(fwd(w, noisy[s:s+16])) for s in range(0, len(noisy), 16)])
clean = val["clean"]; e, t = 4800, est.shape[1] - max(480, delay)
est, clean, noisy = est[:, e:t], clean[:, e:t], noisy[:, e:t]
ok = (clean**2).sum(-1) > 1e-6
snr = 10*np.log10((clean**2).sum(-1) / ((est-clean)**2).sum(-1))
sis = si_sdr(est, clean)
alpha = (est*clean).sum(-1) / (clean**2).sum(-1)
for name, code in (("music",0),("speech",1),("mixed",2)):
    for lo, hi in ((-5, 3), (3, 11), (11, 21)):
        sel = ok & (val["kind"]==code) & (val["snr_db"]>=lo) & (val["snr_db"]<hi)
        if sel.any():
            print(f"{name:6s} {lo:3d}..{hi:3d} dB n={sel.sum():2d}  SI-SDR {sis[sel].mean():6.2f}  SNR {snr[sel].mean():6.2f}  gap {(sis-snr)[sel].mean():5.2f}  alpha {alpha[sel].mean():.3f}")
