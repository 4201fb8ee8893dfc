/**
 * @mim/losses — reconstruction (masked MSE with per-patch normalised targets) and contrastive (InfoNCE, BYOL)
 * losses for 3D masked image modeling. Nothing is implemented yet: this entry point exists so the package
 * builds, type-checks and publishes in dependency order. See README.md for what it will hold.
 */
export {};
