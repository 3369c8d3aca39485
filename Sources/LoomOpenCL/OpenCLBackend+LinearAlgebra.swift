import CCLBlast
import COpenCL
import LoomCore

extension OpenCLBackend {
    public func gemm(_ a: Tensor, _ b: Tensor, into c: Tensor, transposeA: Bool, transposeB: Bool,
                     alpha: Float, beta: Float) throws {
        try Check.owned("gemm", by: self, a, b, c)
        let s = try GemmSizes.resolve("gemm", a, b, c, transposeA: transposeA, transposeB: transposeB, batched: false)
        try clblastGemm(s, a, b, c, transposeA, transposeB, alpha, beta)
    }

    public func batchedGemm(_ a: Tensor, _ b: Tensor, into c: Tensor, transposeA: Bool, transposeB: Bool,
                            alpha: Float, beta: Float) throws {
        try Check.owned("batchedGemm", by: self, a, b, c)
        let s = try GemmSizes.resolve("batchedGemm", a, b, c, transposeA: transposeA, transposeB: transposeB,
                                      batched: true)
        try clblastGemm(s, a, b, c, transposeA, transposeB, alpha, beta)
    }

    /// SGEMM (or strided batched SGEMM when `s.batch > 1`) through CLBlast, row-major.
    private func clblastGemm(_ s: GemmSizes, _ a: Tensor, _ b: Tensor, _ c: Tensor, _ transposeA: Bool,
                             _ transposeB: Bool, _ alpha: Float, _ beta: Float) throws {
        if s.batch == 0 || s.m == 0 || s.n == 0 { return }
        if s.k == 0 || alpha == 0 {
            // C = beta·C; CLBlast rejects k = 0.
            if beta == 0 { try fill(c, value: 0) } else { try scale(c, by: beta) }
            return
        }
        let ta = transposeA ? CLBlastTransposeYes : CLBlastTransposeNo
        let tb = transposeB ? CLBlastTransposeYes : CLBlastTransposeNo
        let lda = transposeA ? s.m : s.k, ldb = transposeB ? s.k : s.n, ldc = s.n
        var q: cl_command_queue? = queue.handle
        let function = s.batch == 1 ? "CLBlastSgemm" : "CLBlastSgemmStridedBatched"
        var status = CLBlastSuccess
        try enqueue(s.batch == 1 ? "gemm" : "batchedGemm") { event in
            if s.batch == 1 {
                status = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, s.m, s.n, s.k, alpha,
                                      mem(a), a.offset, lda, mem(b), b.offset, ldb, beta,
                                      mem(c), c.offset, ldc, &q, event)
            } else {
                status = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, s.m, s.n, s.k, alpha,
                                                    mem(a), a.offset, lda, s.m * s.k, mem(b), b.offset, ldb, s.k * s.n,
                                                    beta, mem(c), c.offset, ldc, s.m * s.n, s.batch, &q, event)
            }
            return CL_SUCCESS
        }
        guard status == CLBlastSuccess else { throw OpenCLError.clblast(function: function, status: status.rawValue) }
    }
}
