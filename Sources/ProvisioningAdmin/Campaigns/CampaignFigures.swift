public import Provisioning

/// What `/metrics` shows of jobs and campaigns (issue 25 point 2), from `jobs.db`. Label values come from closed
/// sets (a job's kind and state, a campaign's state, an outcome, a wave's number) except the campaign's id, which is
/// bounded by how many campaigns are shown: the ones not ended (one at a time) and the `finishedShown` newest of
/// those that ended. No MAC, address or user.
public enum CampaignFigures {
    /// How many ended campaigns keep their series (the newest).
    public static let finishedShown = 5

    /// Jobs by kind and state, every pair of the closed sets present (0 when none).
    public static func jobs(in jobs: JobStore) throws -> [(kind: String, state: String, count: Int)] {
        var counts: [String: Int] = [:]
        try jobs.sqlite { database in
            let statement = try database.prepare("SELECT kind, state, count(*) FROM jobs GROUP BY 1, 2")
            while try statement.step() { counts[(statement.text(0) ?? "") + "|" + (statement.text(1) ?? "")] = statement.int(2) }
        }
        var rows: [(String, String, Int)] = []
        for kind in JobRecord.Kind.allCases {
            for state in JobRecord.State.allCases { rows.append((kind.rawValue, state.rawValue, counts[kind.rawValue + "|" + state.rawValue] ?? 0)) }
        }
        return rows
    }

    /// The campaigns shown: every one not ended, and the `finishedShown` newest that ended.
    public static func campaigns(in jobs: JobStore) throws -> [CampaignRecord] {
        let store = CampaignStore(jobs: jobs)
        return try jobs.sqlite { database in
            let statement = try database.prepare("""
                SELECT id FROM campaigns WHERE state NOT IN ('done', 'aborted', 'rolled_back')
                UNION SELECT id FROM (SELECT id FROM campaigns WHERE state IN ('done', 'aborted', 'rolled_back') ORDER BY id DESC LIMIT ?1)
                ORDER BY 1
                """)
            try statement.bind(1, finishedShown)
            var ids: [Int] = []
            while try statement.step() { ids.append(statement.int(0)) }
            return try ids.compactMap { try store.campaign($0, in: database) }
        }
    }

    /// A wave's label: `canary` or its number (1..10).
    public static func waveLabel(_ wave: CampaignRecord.Wave) -> String {
        wave.percent == nil ? "canary" : String(wave.name.split(separator: " ").last ?? "")
    }
}
