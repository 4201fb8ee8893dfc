/**
 * @mim/backbones — HyMamba, Vanilla Mamba, MCMAE-3D and ViT-3D encoders, their decoders, and the MiM and
 * MambaMIM model assemblies. Nothing is implemented yet: this entry point exists so the package builds,
 * type-checks and publishes in dependency order. See README.md for what it will hold.
 */
export {};
