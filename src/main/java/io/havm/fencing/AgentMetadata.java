package io.havm.fencing;

import io.havm.model.InvalidInputException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/**
 * What a fence agent says about itself ({@code action=metadata}): the XML described by fence-agents'
 * {@code lib/metadata.rng}, {@code <resource-agent name shortdesc><parameters><parameter name required
 * deprecated obsoletes>…<actions><action name>…}.
 *
 * @param name       the agent's name, e.g. {@code fence_redfish}
 * @param shortdesc  one line for the operator
 * @param parameters every parameter it accepts on stdin, deprecated aliases included
 * @param actions    the actions it implements
 * @param xml        the agent's own text
 */
public record AgentMetadata(String name, String shortdesc, List<Parameter> parameters, List<String> actions, String xml) {

    /**
     * One parameter.
     *
     * @param obsoletes the older name this one replaces ({@code password} obsoletes {@code passwd}), or null
     */
    public record Parameter(String name, boolean required, boolean deprecated, String obsoletes) {}

    public AgentMetadata {
        parameters = List.copyOf(parameters);
        actions = List.copyOf(actions);
    }

    /** The parameter named {@code option}, with '-' and '_' alike as fencing.py reads stdin. */
    public Optional<Parameter> parameter(String option) {
        String n = norm(option);
        return parameters.stream().filter(p -> norm(p.name()).equals(n)).findFirst();
    }

    static String norm(String name) {
        return name.replace('-', '_');
    }

    /** Parses the agent's output; {@code where} names the agent in errors. */
    static AgentMetadata parse(String where, String xml) {
        Document doc;
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setExpandEntityReferences(false);
            DocumentBuilder b = f.newDocumentBuilder();
            b.setErrorHandler(null);
            doc = b.parse(new InputSource(new StringReader(xml)));
        } catch (Exception e) {
            throw new InvalidInputException(where, "metadata is not XML: " + e.getMessage());
        }
        Element root = doc.getDocumentElement();
        if (!"resource-agent".equals(root.getTagName())) {
            throw new InvalidInputException(where, "metadata root is <" + root.getTagName() + ">, expected <resource-agent>");
        }
        List<Parameter> params = new ArrayList<>();
        NodeList ps = root.getElementsByTagName("parameter");
        for (int i = 0; i < ps.getLength(); i++) {
            Element p = (Element) ps.item(i);
            params.add(new Parameter(p.getAttribute("name"), "1".equals(p.getAttribute("required")),
                    "1".equals(p.getAttribute("deprecated")),
                    p.getAttribute("obsoletes").isEmpty() ? null : p.getAttribute("obsoletes")));
        }
        List<String> actions = new ArrayList<>();
        NodeList as = root.getElementsByTagName("action");
        for (int i = 0; i < as.getLength(); i++) {
            actions.add(((Element) as.item(i)).getAttribute("name"));
        }
        return new AgentMetadata(root.getAttribute("name"), root.getAttribute("shortdesc"), params, actions, xml);
    }
}
