package feedback.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.ar.ArabicAnalyzer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * {@code feedback_arabic}: Lucene's ArabicAnalyzer (normalisation, Arabic stopwords, light
 * stemming). Not used by the feedback mapping today (it indexes English and Persian); it is
 * here for an index that receives Arabic text.
 */
@NamedComponent("feedback_arabic")
public final class ArabicAnalyzerFactory implements AnalyzerFactory {
    @Override
    public Analyzer create() {
        return new ArabicAnalyzer();
    }
}
