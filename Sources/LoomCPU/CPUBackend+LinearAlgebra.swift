import COpenBLAS
import LoomCore

extension CPUBackend {
    public func gemm(_ a: Tensor, _ b: Tensor, into c: Tensor, transposeA: Bool, transposeB: Bool,
                     alpha: Float, beta: Float) throws {
        try Check.owned("gemm", by: self, a, b, c)
        let s = try GemmSizes.resolve("gemm", a, b, c, transposeA: transposeA, transposeB: transposeB, batched: false)
        sgemm(s, f(a), f(b), f(c), transposeA, transposeB, alpha, beta)
    }

    public func batchedGemm(_ a: Tensor, _ b: Tensor, into c: Tensor, transposeA: Bool, transposeB: Bool,
                            alpha: Float, beta: Float) throws {
        try Check.owned("batchedGemm", by: self, a, b, c)
        let s = try GemmSizes.resolve("batchedGemm", a, b, c, transposeA: transposeA, transposeB: transposeB,
                                      batched: true)
        for i in 0..<s.batch {
            sgemm(s, f(a) + i * s.m * s.k, f(b) + i * s.k * s.n, f(c) + i * s.m * s.n,
                  transposeA, transposeB, alpha, beta)
        }
    }

    /// One row-major SGEMM through OpenBLAS; the empty cases BLAS leaves undefined handled here.
    func sgemm(_ s: GemmSizes, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
               _ transposeA: Bool, _ transposeB: Bool, _ alpha: Float, _ beta: Float) {
        let (m, n, k) = (s.m, s.n, s.k)
        if m == 0 || n == 0 { return }
        if k == 0 || alpha == 0 {
            // C = beta·C (and 0·NaN must give 0 when beta is 0, as BLAS does).
            for i in 0..<(m * n) { c[i] = beta == 0 ? 0 : beta * c[i] }
            return
        }
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n),
                    beta, c, Int32(n))
    }
}
