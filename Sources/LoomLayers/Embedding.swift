import LoomCore

/// A lookup table `(V, D)`: `out[n] = table[ids[n]]`, optionally followed by dropout while
/// training; the backward pass scatters the output gradient back into the table's rows.
public final class Embedding {
    public let vocabulary: Int
    public let width: Int
    public let dropout: Float
    public let table: ParameterStore.ID
    let store: ParameterStore

    /// Registers `name + ".weight"` `(vocabulary, width)` (PyTorch's `nn.Embedding` layout).
    public init(store: ParameterStore, name: String, vocabulary: Int, width: Int, dropout: Float = 0,
                initializer: Initializer) {
        self.vocabulary = vocabulary
        self.width = width
        self.dropout = dropout
        self.store = store
        table = store.register(name + ".weight", shape: [vocabulary, width], initializer: initializer, decays: true)
    }

    /// Buffers for `rows` lookups: the embedded rows, and after dropout.
    public final class Workspace {
        public let embedded: Tensor
        let dropped: Tensor?

        /// The output `forward` returned: the dropped rows when training with dropout.
        public func output(dropout: Bool) -> Tensor { dropout ? (dropped ?? embedded) : embedded }

        init(rows: Int, width: Int, training: Bool, dropout: Bool, backend be: any Backend) throws {
            embedded = try be.zeros([rows, width])
            dropped = training && dropout ? try be.zeros([rows, width]) : nil
        }
    }

    public func workspace(rows: Int, training: Bool) throws -> Workspace {
        try Workspace(rows: rows, width: width, training: training, dropout: dropout > 0, backend: store.backend!)
    }

    /// `(N, D)` the rows of `ids` `(N)`, after dropout when training.
    @discardableResult
    public func forward(_ ws: Workspace, ids: Tensor, dropout site: DropoutSite? = nil) throws -> Tensor {
        let be = store.backend!
        try be.gather(store[table].value, indices: ids, into: ws.embedded)
        if let dropped = ws.dropped, let site {
            try be.dropout(ws.embedded, into: dropped, keepProbability: 1 - dropout, seed: site.seed, stream: site.stream)
            return dropped
        }
        return ws.embedded
    }

    /// The table's gradient from `gradient` `(N, D)` (the gradient w.r.t. `forward`'s output;
    /// modified in place by the dropout backward).
    public func backward(_ gradient: Tensor, ids: Tensor, dropout site: DropoutSite? = nil, training: Bool = true) throws {
        let be = store.backend!
        if dropout > 0, let site {
            try be.dropoutBackward(gradient, into: gradient, keepProbability: 1 - dropout, seed: site.seed,
                                   stream: site.stream)
        }
        try be.fill(store[table].gradient, value: 0)
        try be.scatterAdd(gradient, indices: ids, into: store[table].gradient)
    }
}
